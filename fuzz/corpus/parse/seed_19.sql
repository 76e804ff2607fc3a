-- revision: 4d5e6f7a8b9c
-- down_revision: 2b3c4d5e6f7a, 3c4d5e6f7a8b
-- message: merge heads
-- created: 2026-11-03T09:00:00Z

-- migrate:up
