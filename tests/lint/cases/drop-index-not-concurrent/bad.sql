-- migrate:up
DROP INDEX items_title;
