-- migrate:up
SET lock_timeout = '2s';
-- dbshift:allow drop-object unused since release 42, its data is archived
DROP TABLE items;
