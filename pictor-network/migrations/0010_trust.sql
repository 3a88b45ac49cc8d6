-- Pictor coordinator schema, version 10: trust (docs/TRUST.md).

-- Checks get a purpose: `result` (a worker's result, as before), `confirm` (a second or third
-- checker's opinion on the same result: a reject is proven only when confirmed; a new worker's
-- high-value result is accepted only by two) and `probe` (a known-outcome check the network mixes
-- into a checker's queue; `expected` is what an honest checker answers, `subject` the outputs it
-- is shown), `stake` (the judged attempt's agreed cost, which fees and slashes are
-- reckoned from). `(task_id, attempt, escalation)` stays unique among result checks only, so the table
-- is rebuilt without the old constraint.
CREATE TABLE checks_v10 (
    id               INTEGER PRIMARY KEY,
    task_id          INTEGER NOT NULL REFERENCES tasks(id),
    attempt          INTEGER NOT NULL,
    escalation       INTEGER NOT NULL,
    state            TEXT NOT NULL,
    checker          INTEGER,
    lease_expires_ms INTEGER,
    verdict          TEXT,
    evidence         TEXT,
    leased_at_ms     INTEGER,
    done_at_ms       INTEGER,
    purpose          TEXT NOT NULL DEFAULT 'result',
    expected         TEXT,
    subject          TEXT,
    stake            INTEGER
);
INSERT INTO checks_v10 (id, task_id, attempt, escalation, state, checker, lease_expires_ms,
                        verdict, evidence, leased_at_ms, done_at_ms)
    SELECT id, task_id, attempt, escalation, state, checker, lease_expires_ms, verdict, evidence,
           leased_at_ms, done_at_ms
    FROM checks;
DROP TABLE checks;
ALTER TABLE checks_v10 RENAME TO checks;
CREATE UNIQUE INDEX checks_result_once ON checks (task_id, attempt, escalation)
    WHERE purpose = 'result';
CREATE INDEX checks_by_task ON checks (task_id, attempt);
CREATE INDEX checks_by_state ON checks (state, id);
CREATE INDEX checks_lease_expiry ON checks (lease_expires_ms) WHERE state = 'leased';
CREATE INDEX checks_by_checker ON checks (checker, id) WHERE checker IS NOT NULL;

-- A checker's standing from known-outcome checks (and results a majority proved cheats): known
-- cheats and known-honest frames it was shown and how many it got wrong, its strikes (each costs
-- the period's fees), and when it was barred.
CREATE TABLE checker_standing (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts (id),
    leases          INTEGER NOT NULL DEFAULT 0,
    next_probe_at   INTEGER NOT NULL DEFAULT 0,
    probes_passed   INTEGER NOT NULL DEFAULT 0,
    cheats_seen     INTEGER NOT NULL DEFAULT 0,
    cheats_accepted INTEGER NOT NULL DEFAULT 0,
    honest_seen     INTEGER NOT NULL DEFAULT 0,
    honest_rejected INTEGER NOT NULL DEFAULT 0,
    strikes         INTEGER NOT NULL DEFAULT 0,
    fees_forfeited  INTEGER NOT NULL DEFAULT 0,
    barred_at_ms    INTEGER
);
