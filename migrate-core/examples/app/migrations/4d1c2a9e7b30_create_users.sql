-- revision: 4d1c2a9e7b30
-- down_revision:
-- message: Create the users table
-- created: 2026-11-21T15:00:00Z

-- migrate:up
CREATE TABLE users (
    id INT PRIMARY KEY,
    name VARCHAR(100) NOT NULL
);

-- migrate:down
DROP TABLE users;
