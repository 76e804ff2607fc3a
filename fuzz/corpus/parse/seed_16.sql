-- revision: 1a2b3c4d5e6f
-- down_revision:
-- message: Create the users table
-- created: 2026-11-01T09:00:00Z

-- migrate:up
CREATE TABLE users (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    legacy_flags text
);

-- migrate:down
DROP TABLE users;
