"""Waiting for a dependency at start-up.

On a cluster nothing orders start-ups: the job store may start before PostgreSQL answers, the
runner before the job store. A service waits for what it needs, says so in its log and stays
not-ready (its health check says NOT_SERVING), instead of exiting and being restarted with a
growing back-off that delays the whole install. Errors that waiting cannot cure still end it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
    delay = FIRST_DELAY_S
    while True:
        try:
            return await attempt()
        except Exception as error:
            if not unreachable(error):
                raise
            log.warning("waiting for %s: %s", what, str(error).strip() or type(error).__name__)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay_s)
