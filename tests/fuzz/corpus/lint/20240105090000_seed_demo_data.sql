-- migrate:up
INSERT INTO users (id, email, full_name) VALUES
    (1, 'ada@example.com', 'Ada Lovelace'),
    (2, 'alan@example.com', 'Alan Turing'),
    (3, 'grace@example.com', 'Grace Hopper');
INSERT INTO accounts (id, user_id, currency, balance_cents) VALUES
    (10, 1, 'eur', 0), (11, 2, 'GBP', 0), (12, 3, 'usd', 0);
INSERT INTO payments (id, account_id, amount_cents, reference) VALUES
    (100, 10, 2500, 'invoice 1'), (101, 10, -500, 'refund'),
    (102, 11, 12000, 'invoice 2'), (103, 12, 990, 'invoice 3');

-- migrate:down
DELETE FROM payments WHERE id BETWEEN 100 AND 103;
DELETE FROM accounts WHERE id BETWEEN 10 AND 12;
DELETE FROM users WHERE id BETWEEN 1 AND 3;
