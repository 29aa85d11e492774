-- Payments are listed per account, newest first.
-- migrate:up
CREATE INDEX payments_account_paid_idx ON payments (account_id, paid_at);

-- migrate:down
DROP INDEX payments_account_paid_idx;
