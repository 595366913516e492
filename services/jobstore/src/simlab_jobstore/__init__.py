"""The job store: the only writer of job rows, with an outbox relayed to NATS JetStream."""
