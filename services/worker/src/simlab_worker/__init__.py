"""The simulation worker: runs one shard of a job's blocks, reports them to the job store, and
the shard that completes the set writes the results."""
