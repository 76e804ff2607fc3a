-- revision: b2b2b2b2
-- down_revision: a1a1a1a1
-- message: Add a column

-- migrate:up
ALTER TABLE t_a1a1a1a1 ADD COLUMN y int;

-- migrate:down
-- TODO
