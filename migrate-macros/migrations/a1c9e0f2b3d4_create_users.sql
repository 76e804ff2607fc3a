-- revision: a1c9e0f2b3d4
-- down_revision:
-- message: Create the users table
-- created: 2026-11-21T15:00:00Z

-- migrate:up
CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);

-- migrate:down
DROP TABLE users;
