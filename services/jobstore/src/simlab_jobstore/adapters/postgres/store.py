"""PostgresJobStore: the JobStore port, its methods grouped by what they work on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from simlab.common.coalesce import Coalescer

from ...core.events import EventEncoder
from ...core.quotas import Quotas
from ...core.studies import DEFAULT_MAX_POINTS
from .models import Models
from .presets import Presets
from .session import Database
from .shards import Shards
from .shares import Shares
from .studies import Studies


class PostgresJobStore(Studies, Shards, Models, Presets, Shares):
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        on_commit: Callable[[], None],
        events: EventEncoder,
        quotas: Quotas | None = None,
        max_study_points: int = DEFAULT_MAX_POINTS,
    ) -> None:
        """`events` turns a change's event into the outbox row's id, subject and payload;
        `quotas` bounds what one owner holds (defaults: core.quotas.Quotas);
        `max_study_points` how many points one study may have."""
        self.db = Database(pool, on_commit, events)
        self.quotas = quotas or Quotas()
        self.max_study_points = max_study_points
        self._new_runs = Coalescer(self._create_runs)
        self._versions = {}
