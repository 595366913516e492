"""The gateway's outside world: the job store, NATS, the object store."""
