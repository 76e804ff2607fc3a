-- revision: 3c4d5e6f7a8b
-- down_revision: 1a2b3c4d5e6f
-- message: Add email to users
-- created: 2026-11-02T10:00:00Z

-- migrate:up
ALTER TABLE users ADD COLUMN email text;
-- a comment; with a semicolon
CREATE FUNCTION lower_email() RETURNS trigger AS $$
BEGIN
    NEW.email := lower(NEW.email);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- migrate:down
DROP FUNCTION lower_email();
ALTER TABLE users DROP COLUMN email;
