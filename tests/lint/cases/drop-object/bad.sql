-- migrate:up
SET lock_timeout = '2s';
DROP TABLE items;
ALTER TABLE owners DROP COLUMN nickname;
DROP SCHEMA archive CASCADE;
DROP DATABASE legacy;
