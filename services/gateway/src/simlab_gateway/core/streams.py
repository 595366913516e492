"""How many long-lived streams (WatchJob, WatchStudy, TailLogs) each caller may hold open in
one gateway process. A share link's viewers count apart from its owner, so that a shared link
cannot use up the owner's allowance."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

from simlab.common.errors import exhausted
from simlab_gateway.core.auth import Principal


class StreamLimits:
    def __init__(self, per_user: int, setting: str) -> None:
        self.per_user = per_user
        # The setting that raises the limit, named in the refusal.
        self.setting = setting
        self._open: Counter[Principal] = Counter()

    def open_streams(self, caller: Principal) -> int:
        return self._open[caller]

    @contextlib.contextmanager
    def hold(self, caller: Principal) -> Iterator[None]:
        """One stream of `caller`'s, for the block's duration; RESOURCE_EXHAUSTED when it
        already holds its allowance."""
        if self._open[caller] >= self.per_user:
            raise exhausted(
                "open streams (WatchJob, WatchStudy, TailLogs) per user",
                self.per_user,
                self.setting,
                "close some first",
            )
        self._open[caller] += 1
        try:
            yield
        finally:
            self._open[caller] -= 1
            if not self._open[caller]:
                del self._open[caller]
