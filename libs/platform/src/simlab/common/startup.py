"""Waiting for a dependency at start-up.

On a cluster nothing orders start-ups: the job store may start before PostgreSQL answers, the
runner before the job store. A service waits for what it needs, says so in its log and stays
not-ready (its health check says NOT_SERVING), instead of exiting and being restarted with a
growing back-off that delays the whole install. Errors that waiting cannot cure still end it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina

T = TypeVar("T")

FIRST_DELAY_S = 0.2
MAX_DELAY_S = 5.0


async def when_reachable(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    unreachable: Callable[[Exception], bool],
    log: logging.Logger,
    max_delay_s: float = MAX_DELAY_S,
) -> T:
    """attempt()'s result, retried with a doubling delay (up to max_delay_s) for as long as
    it fails with an error that `unreachable` says is the dependency not answering yet."""

    def waiting(error: Exception) -> bool:
        if not unreachable(error):
            return False
        log.warning("waiting for %s: %s", what, str(error).strip() or type(error).__name__)
        return True

    async for retry in stamina.retry_context(
        on=waiting,
        attempts=None,
        timeout=None,
        wait_initial=FIRST_DELAY_S,
        wait_max=max_delay_s,
        wait_jitter=0,
    ):
        with retry:
            return await attempt()
    raise AssertionError("unreachable: stamina retries until attempt() returns or raises")
