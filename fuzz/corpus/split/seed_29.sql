-- revision: e5e5e5e5
-- down_revision: a1a1a1a1
-- transaction: maybe

-- migrate:up
CREATE TABLE t_e5e5e5e5 (x int);

-- migrate:down
DROP TABLE t_e5e5e5e5;
