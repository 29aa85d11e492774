-- dbshift:no-transaction
-- migrate:up
VACUUM items;
