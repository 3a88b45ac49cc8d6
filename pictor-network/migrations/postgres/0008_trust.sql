-- Pictor coordinator schema (PostgreSQL), version 8: trust (docs/TRUST.md). See the SQLite
-- migration 0010 for what each column means.
ALTER TABLE checks ADD COLUMN purpose TEXT NOT NULL DEFAULT 'result';
ALTER TABLE checks ADD COLUMN expected TEXT;
ALTER TABLE checks ADD COLUMN subject TEXT;
ALTER TABLE checks ADD COLUMN stake BIGINT;
ALTER TABLE checks DROP CONSTRAINT checks_task_id_attempt_escalation_key;
CREATE UNIQUE INDEX checks_result_once ON checks (task_id, attempt, escalation)
    WHERE purpose = 'result';
CREATE INDEX checks_by_task ON checks (task_id, attempt);

CREATE TABLE checker_standing (
    account_id      BIGINT PRIMARY KEY REFERENCES accounts (id),
    leases          BIGINT NOT NULL DEFAULT 0,
    next_probe_at   BIGINT NOT NULL DEFAULT 0,
    probes_passed   BIGINT NOT NULL DEFAULT 0,
    cheats_seen     BIGINT NOT NULL DEFAULT 0,
    cheats_accepted BIGINT NOT NULL DEFAULT 0,
    honest_seen     BIGINT NOT NULL DEFAULT 0,
    honest_rejected BIGINT NOT NULL DEFAULT 0,
    strikes         BIGINT NOT NULL DEFAULT 0,
    fees_forfeited  BIGINT NOT NULL DEFAULT 0,
    barred_at_ms    BIGINT
);
