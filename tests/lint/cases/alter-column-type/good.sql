-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ALTER COLUMN code TYPE varchar(64);
