-- A data change: currency codes become upper case ISO 4217 and balances
-- are computed from the payments.
-- migrate:up
UPDATE accounts SET currency = upper(currency) WHERE currency <> upper(currency);
UPDATE accounts SET balance_cents = (
    SELECT coalesce(sum(p.amount_cents), 0) FROM payments p WHERE p.account_id = accounts.id
);

-- migrate:down
UPDATE accounts SET currency = lower(currency), balance_cents = 0;
