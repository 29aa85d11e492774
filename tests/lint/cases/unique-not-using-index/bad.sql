-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD CONSTRAINT items_sku_key UNIQUE (sku);
ALTER TABLE items ADD COLUMN code text UNIQUE;
