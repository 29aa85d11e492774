-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN owner_id bigint;
ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id) NOT VALID;
ALTER TABLE items VALIDATE CONSTRAINT items_owner_fk;
