-- revision: c3f7a1e5b9d2
-- down_revision: 9b8e5f6c1d2a
-- message: Add an email column to users
-- created: 2026-11-21T15:20:00Z

-- migrate:up
ALTER TABLE users ADD COLUMN email VARCHAR(200);

-- migrate:down
ALTER TABLE users DROP COLUMN email;
