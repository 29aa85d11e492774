-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN token uuid;
ALTER TABLE items ALTER COLUMN token SET DEFAULT gen_random_uuid();
