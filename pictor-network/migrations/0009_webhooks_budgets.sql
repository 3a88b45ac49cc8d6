-- Pictor coordinator schema, version 9: webhooks and budgets.

-- A person's webhook endpoints: where events of any of their accounts are posted, which events,
-- and the secret the deliveries are signed with (HMAC-SHA256; shown to the person once). A
-- deleted endpoint keeps its row for its deliveries' history.
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people (id),
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_by_person ON webhooks (person_id, id);

-- Each event to post to an endpoint: written in the transaction of the change it reports, sent
-- by a background task, retried with backoff until the endpoint answers 2xx or the tries run out.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    done_at_ms      INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- The last contact of each worker whose going offline was announced (once per silence).
CREATE TABLE worker_offline_notices (
    worker_id    INTEGER PRIMARY KEY,
    last_seen_ms INTEGER NOT NULL
);

-- A creator's monthly spending limit: alerts at 50, 80 and 100 % of it (the highest sent this
-- month is kept), and, if chosen, no new job at 100 %.
CREATE TABLE budgets (
    account_id       INTEGER PRIMARY KEY REFERENCES accounts (id),
    limit_micros     INTEGER NOT NULL,
    pause_at_limit   INTEGER NOT NULL,
    month            TEXT NOT NULL,
    alerted_percent  INTEGER NOT NULL DEFAULT 0
);
