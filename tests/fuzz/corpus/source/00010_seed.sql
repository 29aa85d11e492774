-- +goose Up
INSERT INTO items (id, title, price) VALUES (1, 'pen', 150), (2, 'ink; blue', 300);
-- +goose Down
DELETE FROM items;
