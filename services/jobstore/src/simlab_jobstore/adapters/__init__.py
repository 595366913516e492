"""PostgreSQL (job rows, outbox) and NATS JetStream (the outbox relay)."""
