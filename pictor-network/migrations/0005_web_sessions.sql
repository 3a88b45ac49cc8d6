-- Pictor coordinator schema, version 5: sessions of the web app (Pictor Cloud).
--
-- A signed-in browser holds a random session token in an HttpOnly cookie; the database keeps only
-- its BLAKE3 hash, so a copy of the database signs nobody in. Each session carries the CSRF token
-- its forms must send back, and an absolute expiry.
CREATE TABLE web_sessions (
    token_hash    TEXT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    csrf_token    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_ms);

-- The Explorer counts events of a kind since a time (tasks verified today) without a scan.
CREATE INDEX events_kind_time ON events (kind, at_ms);
