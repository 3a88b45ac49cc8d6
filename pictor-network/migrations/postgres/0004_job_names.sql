-- Pictor coordinator schema (PostgreSQL), version 4: a job's name (its spec's `name`), for the
-- creator's job list to search by. Older jobs get the name their spec holds, if any.
ALTER TABLE jobs ADD COLUMN name TEXT;
UPDATE jobs SET name = spec::jsonb ->> 'name';
