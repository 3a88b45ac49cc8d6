-- Pictor coordinator schema, version 1. Money columns are integer micro-credits; JSON columns hold
-- pictor-core types serialised with serde.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    role          TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

-- BLAKE3 of the secret key; the key itself is never stored.
CREATE TABLE api_keys (
    key_hash   BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id)
);

CREATE TABLE workers (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts(id),
    name         TEXT NOT NULL,
    public_key   BLOB NOT NULL,
    hardware     TEXT NOT NULL,
    price        INTEGER NOT NULL,
    speed_millis INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);

-- Which account proved it holds which blob (uploaded its bytes).
CREATE TABLE blob_holders (
    account_id INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    PRIMARY KEY (account_id, hash)
);

CREATE TABLE assets (
    owner      INTEGER NOT NULL,
    id         TEXT NOT NULL,
    manifest   TEXT NOT NULL,
    total_size INTEGER NOT NULL,
    files      INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
);

CREATE TABLE asset_blobs (
    asset_id TEXT NOT NULL,
    hash     TEXT NOT NULL,
    PRIMARY KEY (asset_id, hash)
);

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    owner         INTEGER NOT NULL,
    idem_key      TEXT,
    request_hash  TEXT NOT NULL,
    spec          TEXT NOT NULL,
    state         TEXT NOT NULL,
    priority      INTEGER NOT NULL, -- dispatch order of the tier: 0 priority, 1 standard, 2 economy
    paused_reason TEXT,
    quote         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    event_seq     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner, idem_key)
);
CREATE INDEX jobs_owner ON jobs (owner, id);
CREATE INDEX jobs_dispatch ON jobs (state, priority, id);

CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    job_id           INTEGER NOT NULL REFERENCES jobs(id),
    idx              INTEGER NOT NULL,
    work             TEXT NOT NULL,
    work_bench_ms    INTEGER NOT NULL,
    state            TEXT NOT NULL,
    state_name       TEXT NOT NULL,
    lease_expires_ms INTEGER,
    outputs          TEXT,
    hold             INTEGER NOT NULL,
    hold_generation  INTEGER NOT NULL,
    hold_open        INTEGER NOT NULL,
    agreed_cost      INTEGER,
    rejects          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_by_state ON tasks (state_name, job_id, idx);
CREATE INDEX tasks_by_job ON tasks (job_id, idx);

-- Per job and worker: results rejected, and whether the worker is barred from the job.
CREATE TABLE job_workers (
    job_id    INTEGER NOT NULL,
    worker_id INTEGER NOT NULL,
    rejects   INTEGER NOT NULL DEFAULT 0,
    blocked   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, worker_id)
);

CREATE TABLE checks (
    id               INTEGER PRIMARY KEY,
    task_id          INTEGER NOT NULL REFERENCES tasks(id),
    attempt          INTEGER NOT NULL,
    escalation       INTEGER NOT NULL,
    state            TEXT NOT NULL,
    checker          INTEGER,
    lease_expires_ms INTEGER,
    verdict          TEXT,
    evidence         TEXT,
    UNIQUE (task_id, attempt, escalation)
);
CREATE INDEX checks_by_state ON checks (state, id);

CREATE TABLE frames (
    job_id  INTEGER NOT NULL,
    frame   INTEGER NOT NULL,
    task_id INTEGER NOT NULL,
    hash    TEXT NOT NULL,
    size    INTEGER NOT NULL,
    PRIMARY KEY (job_id, frame, task_id)
);

CREATE TABLE events (
    job_id INTEGER NOT NULL,
    seq    INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    at_ms  INTEGER NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- The journal in its canonical binary encoding (pictor_core::ledger::codec).
CREATE TABLE ledger_entries (
    seq   INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);

CREATE TABLE ledger_seals (
    upto_seq INTEGER PRIMARY KEY,
    bytes    BLOB NOT NULL
);

-- Responses of keyed requests (deposits), so a retry answers the same.
CREATE TABLE idempotency (
    account_id   INTEGER NOT NULL,
    route        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    PRIMARY KEY (account_id, route, key)
);
