-- migrate:up
-- every column kept
CREATE TABLE "new__items" ("id" integer NOT NULL PRIMARY KEY, "name" varchar(100) NOT NULL,
  "sku" text);
INSERT INTO "new__items" ("id", "name", "sku") SELECT "id", "name", "sku" FROM "items";
DROP TABLE "items";
ALTER TABLE "new__items" RENAME TO "items";
