-- Pictor coordinator schema on PostgreSQL, version 2 (SQLite's migration 4): dispatch and expiry
-- without scanning — the active jobs in dispatch order, leases by their expiry.
CREATE INDEX jobs_active ON jobs (priority, id) WHERE state IN ('queued', 'running');
CREATE INDEX tasks_lease_expiry ON tasks (lease_expires_ms) WHERE state_name = 'leased';
CREATE INDEX checks_lease_expiry ON checks (lease_expires_ms) WHERE state = 'leased';
