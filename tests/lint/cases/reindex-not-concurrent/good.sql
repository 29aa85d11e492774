-- dbshift:no-transaction
-- migrate:up
REINDEX INDEX CONCURRENTLY items_title;
