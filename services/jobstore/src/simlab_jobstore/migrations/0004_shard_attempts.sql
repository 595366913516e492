-- Attempt fencing: the highest launch attempt a worker token has shown for each shard. A
-- worker of an earlier attempt (a zombie of a relaunched shard) is refused from then on.

ALTER TABLE job_shards ADD COLUMN attempt integer NOT NULL DEFAULT 0;
