-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN owner_id bigint REFERENCES owners (id);
