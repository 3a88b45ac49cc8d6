-- Pictor coordinator schema (PostgreSQL), version 9: render farms' bulk offers.

-- A farm account's registration declares how long a task typically waits in the farm's own queue
-- before it starts; the network plans the farm's work after that delay. NULL for a single machine.
ALTER TABLE workers ADD COLUMN queue_delay_secs BIGINT;
