-- Pictor coordinator schema, version 7: people. A person signs in to Pictor Cloud once — with a
-- login name and a password (an argon2id hash is kept, never the password) — and acts as any of
-- the accounts linked to them: a creator account, a worker owner's, a checker's. An account
-- belongs to at most one person; a session remembers its person and the account it acts as.
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE person_accounts (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    person_id  INTEGER NOT NULL REFERENCES people (id)
);
CREATE INDEX person_accounts_by_person ON person_accounts (person_id, account_id);
ALTER TABLE web_sessions ADD COLUMN person_id INTEGER REFERENCES people (id);
