-- migrate:up
DELETE FROM items WHERE id < 1000;
