-- migrate:up
VACUUM FULL items;
