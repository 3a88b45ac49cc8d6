-- Pictor coordinator schema on PostgreSQL, version 3: sessions of the web app (SQLite's
-- migration 5; see there).
CREATE TABLE web_sessions (
    token_hash    TEXT PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    csrf_token    TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_ms);

-- The Explorer counts events of a kind since a time (tasks verified today) without a scan.
CREATE INDEX events_kind_time ON events (kind, at_ms);
