-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ALTER COLUMN title SET NOT NULL;
