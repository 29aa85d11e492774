-- dbshift:phase expand
-- migrate:up
CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL);
-- migrate:down
DROP TABLE items;
