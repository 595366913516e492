"""The HTTP server's configuration: hypercorn, HTTP/1.1 and h2c on one port.

gRPC clients keep one HTTP/2 connection for thousands of calls, long streams among them
(a service watching its jobs). Two hypercorn defaults would cut them off or starve them:
GOAWAY after 1,000 requests, 100 concurrent streams, 5 s idle. And hypercorn (0.18) schedules each
connection's responses in a `priority.PriorityTree` built with that library's default cap of
1,000 entries, stream 0 included: the 1,000th concurrent stream's insertion raises
TooManyStreamsError inside the connection's event handling, and from then on that connection
sends nothing, to any of its streams, and no error either (1,000 WatchJob streams on one
channel got no event at all). Each connection's tree is sized here to the advertised stream
limit, so HTTP/2 itself refuses what is beyond it; the gateway's own per-user limit, below
that, answers RESOURCE_EXHAUSTED."""

from __future__ import annotations

from typing import Any

import hypercorn.protocol
import priority
from hypercorn.config import Config
from hypercorn.protocol.h2 import H2Protocol

# Concurrent calls a connection may carry besides a user's streams (unary calls, downloads):
# beyond the limit, HTTP/2 clients queue new calls until one ends.
CALLS_BESIDES_STREAMS = 1000


class _SizedPriorityH2(H2Protocol):
    """hypercorn's HTTP/2 connection, its send scheduler sized to its stream limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # + 1: stream 0, the tree's root, counts against its cap.
        self.priority = priority.PriorityTree(
            maximum_streams=self.config.h2_max_concurrent_streams + 1
        )


def hypercorn_config(max_streams_per_user: int) -> Config:
    """A connection may carry one user's whole stream allowance and as many other calls."""
    # ProtocolWrapper builds each HTTP/2 connection from this module-level name.
    hypercorn.protocol.H2Protocol = _SizedPriorityH2  # type: ignore[misc]
    config = Config()
    config.accesslog = None
    config.graceful_timeout = 5.0
    config.keep_alive_max_requests = 2**31
    config.h2_max_concurrent_streams = max_streams_per_user + CALLS_BESIDES_STREAMS
    config.keep_alive_timeout = 300.0
    return config
