-- revision: b7e1c2d3f4a5
-- down_revision: a1c9e0f2b3d4
-- message: Add an email column to users
-- created: 2026-11-21T15:10:00Z

-- migrate:up
ALTER TABLE users ADD COLUMN email text;

-- migrate:down
ALTER TABLE users DROP COLUMN email;
