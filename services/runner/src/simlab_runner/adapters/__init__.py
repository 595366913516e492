"""The runner's outside world: JetStream, the job store, launchers."""
