-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE events SET (fillfactor = 90);
