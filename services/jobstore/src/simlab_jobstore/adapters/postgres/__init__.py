"""Job rows in PostgreSQL (the core.store.JobStore port). A change runs in one transaction that
locks the job row, asks core what the change is, and writes the row and its event (the outbox
row) together. New jobs are inserted with their events by one statement per batch of
concurrent requests. `on_commit` is called after each commit that wrote an event (it wakes the
relay).

- session.py: the pool, a Session's shared statements, a transaction and one state change
- rows.py: row <-> domain decoding
- jobs.py, studies.py, shards.py, models.py, presets.py, shares.py: the store's methods, by
  what they work on
- store.py: PostgresJobStore, all of them over one pool"""

from .session import open_pool
from .store import PostgresJobStore

__all__ = ["PostgresJobStore", "open_pool"]
