-- revision: 2b3c4d5e6f7a
-- down_revision: 1a2b3c4d5e6f
-- message: Create the posts table
-- created: 2026-11-02T09:00:00Z

-- migrate:up
CREATE TABLE posts (id bigint PRIMARY KEY, author bigint REFERENCES users (id), body text);

-- migrate:down
DROP TABLE posts;
