-- Pictor coordinator schema, version 2: what the market and the lease rules measure per worker.

-- Concurrent leases a worker may hold (its declared slots), and what its accepted tasks measured:
-- bench-milliseconds of work and the wall milliseconds from lease to result, whose ratio is the
-- worker's measured speed (docs/ARCHITECTURE.md, "The market's bounds").
ALTER TABLE workers ADD COLUMN slots INTEGER NOT NULL DEFAULT 1;
ALTER TABLE workers ADD COLUMN accepted_tasks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN accepted_bench_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN accepted_wall_ms INTEGER NOT NULL DEFAULT 0;

-- The worker holding a task's lease (NULL unless the task is leased), to bound leases per worker.
ALTER TABLE tasks ADD COLUMN lease_worker INTEGER;
CREATE INDEX tasks_by_lease_worker ON tasks (lease_worker) WHERE lease_worker IS NOT NULL;

-- Every attempt of every task: who leased it, when, and when its result arrived. Answers "did this
-- worker ever hold this task" (a stranger gets 404, a former holder 409) and times the work.
CREATE TABLE task_attempts (
    task_id      INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    worker_id    INTEGER NOT NULL,
    leased_at_ms INTEGER NOT NULL,
    delivered_at_ms INTEGER,
    PRIMARY KEY (task_id, attempt)
);

-- Failed or expired attempts per job and worker: repeated failures bar the worker from the job.
ALTER TABLE job_workers ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

-- A job split into more tasks than one write should insert is materialised in batches (so a
-- 100,000-frame job never holds the write path for long): while it is, this row keeps the tasks'
-- holds (little-endian u64 micro-credits, one per task, in split order), the next task to insert,
-- and the generation of the pending "reservation" transfer that holds the rest of the escrow.
CREATE TABLE job_splits (
    job_id                 INTEGER PRIMARY KEY REFERENCES jobs(id),
    next_index             INTEGER NOT NULL,
    total                  INTEGER NOT NULL,
    holds                  BLOB NOT NULL,
    reservation_generation INTEGER NOT NULL
);

-- Jobs that ended (cancelled, failed) with tasks still to close, closed in batches likewise.
CREATE TABLE jobs_closing (
    job_id INTEGER PRIMARY KEY REFERENCES jobs(id)
);
