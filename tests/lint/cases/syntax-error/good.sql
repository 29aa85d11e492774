-- migrate:up
CREATE TABLE events (id bigint PRIMARY KEY);
