-- migrate:up
CREATE TABLE archive AS SELECT * FROM items WHERE false;
CREATE INDEX archive_sku_idx ON archive (sku);
SELECT * INTO archive2 FROM items WHERE false;
CREATE INDEX archive2_sku_idx ON archive2 (sku);
ALTER TABLE archive ADD COLUMN note text DEFAULT make_note();
