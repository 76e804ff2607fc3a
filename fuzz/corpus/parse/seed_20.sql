-- revision: 5e6f7a8b9c0d
-- down_revision: 4d5e6f7a8b9c
-- message: Drop the legacy flags column
-- created: 2026-11-04T09:00:00Z
-- transaction: false

-- migrate:up
ALTER TABLE users DROP COLUMN legacy_flags;

-- migrate:down irreversible: the flags are gone for good
