"""PostgresJobStore: the JobStore port, its methods grouped by what they work on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from ...core.events import EventEncoder
from ...core.quotas import Quotas
from ..coalesce import Coalescer
from .jobs import Jobs
from .models import Models
from .presets import Presets
from .session import Database
from .shards import Shards
from .shares import Shares


class PostgresJobStore(Jobs, Shards, Models, Presets, Shares):
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        on_commit: Callable[[], None],
        events: EventEncoder,
        quotas: Quotas | None = None,
    ) -> None:
        """`events` turns a change's event into the outbox row's id, subject and payload;
        `quotas` bounds what one owner holds (defaults: core.quotas.Quotas)."""
        self.db = Database(pool, on_commit, events)
        self.quotas = quotas or Quotas()
        self._inserts = Coalescer(self._insert_jobs)
        self._versions = {}
