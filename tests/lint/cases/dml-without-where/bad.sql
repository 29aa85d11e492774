-- migrate:up
UPDATE items SET title = trim(title);
