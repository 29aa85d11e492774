-- migrate:up
UPDATE items SET title = trim(title) WHERE title <> trim(title);
