-- migrate:up
-- a column added by rebuilding the table (as Django does on SQLite): no data lost
CREATE TABLE "new__items" ("id" integer NOT NULL PRIMARY KEY, "name" varchar(100) NOT NULL,
  "sku" text, "note" text NULL, CONSTRAINT "items_sku" UNIQUE ("sku"));
INSERT INTO "new__items" ("id", "name", "sku", "note") SELECT "id", "name", "sku", NULL FROM "items";
DROP TABLE "items";
ALTER TABLE "new__items" RENAME TO "items";
