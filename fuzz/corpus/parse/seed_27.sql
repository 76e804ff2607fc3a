-- revision: c3c3c3c3
-- down_revision: ffff0000

-- migrate:up
CREATE TABLE t_c3c3c3c3 (x int);

-- migrate:down
DROP TABLE t_c3c3c3c3;
