-- dbshift:no-transaction
-- migrate:up
DISCARD ALL;
SELECT pg_advisory_unlock_all();
CREATE TABLE events (id bigint PRIMARY KEY);
