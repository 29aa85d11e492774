-- migrate:up
CREATE TABLE "items" ("id" integer NOT NULL PRIMARY KEY, "name" varchar(100) NOT NULL,
  "sku" text, CONSTRAINT "items_sku" UNIQUE ("sku"));
