-- revision: aa00
-- down_revision:
-- message: Base

-- migrate:up
CREATE TABLE accounts (id bigint PRIMARY KEY);

-- migrate:down
DROP TABLE accounts;
