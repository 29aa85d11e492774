-- migrate:up transaction:false
ALTER TABLE items ADD COLUMN price bigint;
-- migrate:down
ALTER TABLE items DROP COLUMN price;
