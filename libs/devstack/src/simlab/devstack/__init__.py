"""The embedded stack of `make run` and of the tests: real PostgreSQL, NATS JetStream and
every Simlab service as local processes."""
