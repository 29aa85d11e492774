-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ALTER COLUMN id TYPE bigint;
