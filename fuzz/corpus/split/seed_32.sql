-- revision: c3c3c3c3
-- down_revision: a1a1a1a1
-- message: Bob adds a table

-- migrate:up
CREATE TABLE t_c3c3c3c3 (x int);

-- migrate:down
DROP TABLE t_c3c3c3c3;
