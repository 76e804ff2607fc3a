-- revision: bb01
-- down_revision: aa00
-- branch_labels: expand
-- message: Add the new balance column

-- migrate:up
ALTER TABLE accounts ADD COLUMN balance_cents bigint;

-- migrate:down
ALTER TABLE accounts DROP COLUMN balance_cents;
