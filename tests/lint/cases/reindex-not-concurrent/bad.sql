-- migrate:up
REINDEX INDEX items_title;
