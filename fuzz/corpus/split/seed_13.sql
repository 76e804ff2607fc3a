-- revision: b2b2b2b2
-- down_revision: a1a1a1a1

-- migrate:up
CREATE TABLE t_b2b2b2b2 (x int);

-- migrate:down
DROP TABLE t_b2b2b2b2;
