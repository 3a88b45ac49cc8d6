-- Pictor coordinator schema, version 12: the newest accepted tasks, in order.
--
-- A checker's known-outcome probe is made from the newest accepted tasks it did not judge. Read
-- through `tasks_by_state`, they were sorted whole on every probe (every accepted task of every
-- job); this index walks them newest first and stops at the limit.
CREATE INDEX tasks_accepted ON tasks (id) WHERE state_name = 'accepted';
