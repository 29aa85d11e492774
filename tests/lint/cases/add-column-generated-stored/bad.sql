-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;
