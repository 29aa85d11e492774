-- migrate:up
INSERT INTO items (id, title, price) VALUES (1, 'pen', 150), (2, 'ink; blue', 300);
-- migrate:down
DELETE FROM items;
