-- Pictor coordinator schema, version 4: dispatch and expiry without scanning.
--
-- A lease asks for the first leasable tasks in dispatch order (tier priority, then job, then
-- split order). With the active jobs indexed in that order, the lease walks them and each job's
-- pending tasks in order and stops at the limit, instead of sorting every pending task of every
-- job on every lease. Expired leases are found by their expiry, not by reading every lease.
CREATE INDEX jobs_active ON jobs (priority, id) WHERE state IN ('queued', 'running');
CREATE INDEX tasks_lease_expiry ON tasks (lease_expires_ms) WHERE state_name = 'leased';
CREATE INDEX checks_lease_expiry ON checks (lease_expires_ms) WHERE state = 'leased';
