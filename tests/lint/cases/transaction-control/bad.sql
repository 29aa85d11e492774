-- migrate:up
BEGIN;
CREATE TABLE events (id bigint PRIMARY KEY);
COMMIT;
