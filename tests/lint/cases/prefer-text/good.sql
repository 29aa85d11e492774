-- migrate:up
CREATE TABLE events (id bigint PRIMARY KEY, kind text, code text CHECK (length(code) = 3));
