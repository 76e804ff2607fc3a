-- revision: 9b8e5f6c1d2a
-- down_revision: 4d1c2a9e7b30
-- message: Create the posts table
-- created: 2026-11-21T15:10:00Z

-- migrate:up
CREATE TABLE posts (
    id INT PRIMARY KEY,
    author INT NOT NULL,
    title VARCHAR(200) NOT NULL DEFAULT 'untitled; draft'
);
CREATE INDEX posts_author ON posts (author);

-- migrate:down
DROP TABLE posts;
