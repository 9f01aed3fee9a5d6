-- paperfeed store schema, version 2: accounts and sessions for the web service.
--
-- Passwords are stored only as argon2id PHC strings; sessions only as the SHA-256 of their
-- random token, so a copy of the database cannot be used to log in as anyone.

CREATE TABLE users (
    name          TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    -- Lowercase hex SHA-256 of the token the browser holds.
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_name  TEXT NOT NULL REFERENCES users (name),
    created    TEXT NOT NULL,
    expires    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions (expires);
