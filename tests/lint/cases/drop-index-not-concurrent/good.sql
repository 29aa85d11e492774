-- dbshift:no-transaction
-- migrate:up
DROP INDEX CONCURRENTLY items_title;
