-- revision: d4d4d4d4
-- down_revision: a1a1a1a1

-- migrate:up
ALTER TABLE t_a1a1a1a1 ADD COLUMN y int;
