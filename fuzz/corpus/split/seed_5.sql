-- revision: a1
-- down_revision:
-- message: harmlessDROP TABLE victim; --
-- migrate:up
CREATE TABLE t (x int);
-- migrate:down
DROP TABLE t;
