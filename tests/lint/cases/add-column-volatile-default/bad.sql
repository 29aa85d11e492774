-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE items ADD COLUMN code text DEFAULT make_code(8);
ALTER TABLE items ADD COLUMN salt int DEFAULT (random() * 100)::int;
ALTER TABLE items ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE items ADD COLUMN n bigserial;
