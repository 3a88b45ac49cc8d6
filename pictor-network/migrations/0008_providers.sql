-- Pictor coordinator schema, version 8: what GPU owners and checkers see in Pictor Cloud.

-- A worker created from the web app: the settings its config file carries, the person who owns
-- it, and whether its config (the worker account's API key) has been issued. The key itself is
-- minted when the config is downloaded and kept only as a hash in api_keys; revoking it deletes
-- that row, so the running worker's next request is refused.
CREATE TABLE worker_settings (
    account_id          INTEGER PRIMARY KEY REFERENCES accounts (id),
    person_id           INTEGER NOT NULL REFERENCES people (id),
    settings            TEXT NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    config_issued_at_ms INTEGER,
    configs_issued      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX worker_settings_by_person ON worker_settings (person_id, account_id);

-- The service tiers a worker serves: economy (every job), standard (standard and priority jobs)
-- or priority (priority jobs only).
ALTER TABLE workers ADD COLUMN min_tier TEXT NOT NULL DEFAULT 'economy';

-- What a worker said it was doing, in order (idle, running its idle command, downloading,
-- rendering, uploading, connected, stopped): shown on its page, never used for money.
CREATE TABLE worker_activity (
    id        INTEGER PRIMARY KEY,
    worker_id INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    activity  TEXT NOT NULL,
    task_id   INTEGER,
    detail    TEXT
);
CREATE INDEX worker_activity_by_worker ON worker_activity (worker_id, id);

-- A worker's tasks, newest first, for its history.
CREATE INDEX task_attempts_by_worker ON task_attempts (worker_id, leased_at_ms);

-- When a check was leased and when its verdict came (NULL for checks older than this version),
-- and a checker's checks, newest first.
ALTER TABLE checks ADD COLUMN leased_at_ms INTEGER;
ALTER TABLE checks ADD COLUMN done_at_ms INTEGER;
CREATE INDEX checks_by_checker ON checks (checker, id) WHERE checker IS NOT NULL;

-- When each journal entry was committed (the coordinator's clock; not part of the signed chain;
-- NULL for entries older than this version): earnings per day and monthly statements.
ALTER TABLE ledger_entries ADD COLUMN at_ms INTEGER;
