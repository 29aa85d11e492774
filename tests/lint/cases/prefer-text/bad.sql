-- migrate:up
CREATE TABLE events (id bigint PRIMARY KEY, kind varchar(20), code char(3));
