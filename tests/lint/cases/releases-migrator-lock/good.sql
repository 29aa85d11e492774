-- migrate:up
SELECT pg_advisory_lock(42);
SELECT pg_advisory_unlock(42);
DISCARD PLANS;
CREATE TABLE events (id bigint PRIMARY KEY);
