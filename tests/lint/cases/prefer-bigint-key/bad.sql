-- migrate:up
CREATE TABLE events (id serial PRIMARY KEY);
