-- revision: cc01
-- down_revision: aa00
-- depends_on: bb02
-- branch_labels: contract
-- message: Drop the old balance column

-- migrate:up
ALTER TABLE accounts DROP COLUMN IF EXISTS balance;

-- migrate:down irreversible: the old balances are not kept
