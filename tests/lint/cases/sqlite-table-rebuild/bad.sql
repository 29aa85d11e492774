-- migrate:up
ALTER TABLE items DROP COLUMN sku;
