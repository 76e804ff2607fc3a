-- revision: a1a1a1a1
-- down_revision: 

-- migrate:up
CREATE TABLE t_a1a1a1a1 (x int);

-- migrate:down
DROP TABLE t_a1a1a1a1;
