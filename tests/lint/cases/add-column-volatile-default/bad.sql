-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN token uuid DEFAULT gen_random_uuid();
