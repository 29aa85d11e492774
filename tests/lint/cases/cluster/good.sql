-- migrate:up
ANALYZE items;
