-- dbshift:no-transaction
-- migrate:up
CREATE UNIQUE INDEX CONCURRENTLY items_sku_idx ON items (sku);
SET lock_timeout = '2s';
ALTER TABLE items ADD CONSTRAINT items_sku_key UNIQUE USING INDEX items_sku_idx;
