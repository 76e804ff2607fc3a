-- revision: bb02
-- down_revision: bb01
-- message: Backfill the new balance column

-- migrate:up
UPDATE accounts SET balance_cents = 0 WHERE balance_cents IS NULL;

-- migrate:down
UPDATE accounts SET balance_cents = NULL;
