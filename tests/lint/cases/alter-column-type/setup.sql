-- migrate:up
CREATE TABLE items (id integer PRIMARY KEY, code varchar(32));
