"""The runner: turns queued jobs into running workers (local processes or Kubernetes Jobs),
reports what it sees to the job store, and reconciles after a restart."""
