-- migrate:up
CREATE INDEX items_title ON items (title);
