-- migrate:up
-- a rebuild that leaves the column sku behind: its data is lost
CREATE TABLE "new__items" ("id" integer NOT NULL PRIMARY KEY, "name" varchar(100) NOT NULL);
INSERT INTO "new__items" ("id", "name") SELECT "id", "name" FROM "items";
DROP TABLE "items";
ALTER TABLE "new__items" RENAME TO "items";
