-- migrate:up
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    currency text NOT NULL DEFAULT 'eur',
    balance_cents bigint NOT NULL DEFAULT 0
);
CREATE INDEX accounts_user_id_idx ON accounts (user_id);

-- migrate:down
DROP TABLE accounts;
