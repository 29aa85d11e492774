-- migrate:up
TRUNCATE items;
TRUNCATE owners CASCADE;
