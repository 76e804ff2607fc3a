-- revision: b2-b2-b2
-- down_revision: a1a1a1a1
-- mesage: Add a column

-- migrate:up
CREATE TABLE t_b2-b2-b2 (x int);

-- migrate:down
DROP TABLE t_b2-b2-b2;
