-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items RENAME COLUMN title TO name;
