-- migrate:up
TRUNCATE items CASCADE;
