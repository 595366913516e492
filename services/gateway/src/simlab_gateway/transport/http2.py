"""The HTTP server's configuration: hypercorn, HTTP/1.1 and h2c on one port.

gRPC clients keep one HTTP/2 connection for thousands of calls, long streams among them
(a service watching its jobs). Two hypercorn defaults would cut them off or starve them:
GOAWAY after 1,000 requests, 100 concurrent streams, 5 s idle.

hypercorn (0.18) also sends each connection's responses in a way that costs a WatchJob
fan-out (one job change to 1,000 streams) most of its time, so its HTTP/2 connection is
adapted here:
- Its send order is a `priority.PriorityTree` (HTTP/2 priorities, which RFC 9113 deprecates and
  gRPC clients never send), with that library's default cap of 1,000 entries: the 1,000th
  concurrent stream's insertion raised TooManyStreamsError inside the connection's event
  handling, and from then on that connection sent nothing (1,000 WatchJob streams on one
  channel got no event at all). Each update of the tree costs a heap operation. Here the
  streams with something to send take turns (`RoundRobin`), as many as HTTP/2's advertised
  limit lets in (the gateway's own per-user limit, below that, answers RESOURCE_EXHAUSTED).
- It wrote to the socket after every frame: 1,000 writes per change, and as many reads for
  the client. Here the send loop serves every stream that has data, then writes their frames
  at once (every `FRAMES_PER_WRITE` streams while more keep coming).
- A stream stayed in the send loop's turn until a visit found it had nothing left, and each
  flow-control window update (a gRPC client sends one every few messages it reads) put its
  stream back in turn, whether or not it had anything to send: most visits were for nothing.
  Here a stream leaves the turn as soon as it has sent all it had, and only one with something
  left to send is put back."""

from __future__ import annotations

from typing import Any

import hypercorn.protocol
import priority
from hypercorn.config import Config
from hypercorn.protocol.h2 import BUFFER_LOW_WATER, H2Protocol

# Concurrent calls a connection may carry besides a user's streams (unary calls, downloads):
# beyond the limit, HTTP/2 clients queue new calls until one ends.
CALLS_BESIDES_STREAMS = 1000
# Streams the send loop serves before it writes what they sent, when more keep coming: bounds
# the first one's wait and what one write holds: 32 WatchJob events are ~15 KiB, 32 frames of a
# download (16 KiB each, h2's largest) 512 KiB.
FRAMES_PER_WRITE = 32


class RoundRobin:
    """The order in which one connection's streams send: those that have something to send,
    each in turn. Takes the place of hypercorn's `priority.PriorityTree`, whose interface and
    errors it keeps; priorities are accepted and ignored."""

    def __init__(self) -> None:
        self._streams: set[int] = set()
        # Insertion-ordered: the stream at the front sends next.
        self._ready: dict[int, None] = {}

    def insert_stream(
        self,
        stream_id: int,
        depends_on: int | None = None,
        weight: int = 16,
        exclusive: bool = False,
    ) -> None:
        if stream_id in self._streams:
            raise priority.DuplicateStreamError(f"stream {stream_id} already present")
        self._streams.add(stream_id)
        self._ready[stream_id] = None

    def reprioritize(
        self,
        stream_id: int,
        depends_on: int | None = None,
        weight: int = 16,
        exclusive: bool = False,
    ) -> None:
        self._known(stream_id)

    def remove_stream(self, stream_id: int) -> None:
        self._known(stream_id)
        self._streams.remove(stream_id)
        self._ready.pop(stream_id, None)

    def block(self, stream_id: int) -> None:
        self._known(stream_id)
        self._ready.pop(stream_id, None)

    def unblock(self, stream_id: int) -> None:
        self._known(stream_id)
        # A stream already waiting keeps its place.
        self._ready.setdefault(stream_id)

    def __iter__(self) -> RoundRobin:
        return self

    def __next__(self) -> int:
        if not self._ready:
            raise priority.DeadlockError("no stream has anything to send")
        stream_id = next(iter(self._ready))
        # To the back: every other waiting stream sends before this one sends again.
        del self._ready[stream_id]
        self._ready[stream_id] = None
        return stream_id

    def _known(self, stream_id: int) -> None:
        if stream_id not in self._streams:
            raise priority.MissingStreamError(f"stream {stream_id} not present")


class _GatewayH2(H2Protocol):
    """hypercorn's HTTP/2 connection, its streams taking turns and their frames written
    together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.priority = RoundRobin()  # type: ignore[assignment]
        # True while the send loop serves a stream: its frames wait in the connection's
        # buffer for the loop's next write.
        self._deferring_writes = False

    async def send_task(self) -> None:
        # hypercorn's loop, but for when it writes.
        served = 0
        while not self.closed:
            try:
                stream_id = next(self.priority)
            except priority.DeadlockError:
                # Every stream has sent what it had: write it all before waiting for more.
                served = 0
                await self._flush()
                await self.has_data.wait()
                await self.has_data.clear()
            else:
                buffer = self.stream_buffers.get(stream_id)
                buffered = len(buffer.buffer) if buffer is not None else 0
                self._deferring_writes = True
                try:
                    await self._send_data(stream_id)
                finally:
                    self._deferring_writes = False
                if self._sent_all_and_released(stream_id, buffered):
                    # Out of turn now, not after one more visit that finds nothing.
                    self.priority.block(stream_id)
                served += 1
                if served == FRAMES_PER_WRITE:
                    served = 0
                    await self._flush()

    async def _window_updated(self, stream_id: int | None) -> None:
        # More window matters only to a stream that has something left to send (or its end):
        # any other is put in turn by its next send.
        updated = self.stream_buffers.keys() if not stream_id else [stream_id]
        for each in updated:
            if self._has_more(each):
                self.priority.unblock(each)
        await self.has_data.set()

    def _sent_all_and_released(self, stream_id: int, buffered: int) -> bool:
        """Whether the stream, which held `buffered` bytes, has just sent them all, and the
        sender waiting for room in its buffer (if any) was let go: a buffer lets it go on a
        send smaller than BUFFER_LOW_WATER only, so after a full frame the visit that finds
        nothing is what lets it go."""
        buffer = self.stream_buffers.get(stream_id)
        return (
            buffer is not None
            and not buffer.buffer
            and not buffer.complete
            and buffered < BUFFER_LOW_WATER
        )

    def _has_more(self, stream_id: int) -> bool:
        """Whether the stream has data or its end left to send."""
        buffer = self.stream_buffers.get(stream_id)
        return buffer is not None and (bool(buffer.buffer) or buffer.complete)

    async def _flush(self) -> None:
        # Anything else (headers, trailers, window updates, the loop's own writes) is
        # written at once, with whatever frames are waiting ahead of it.
        if not self._deferring_writes:
            await super()._flush()


def hypercorn_config(max_streams_per_user: int) -> Config:
    """A connection may carry one user's whole stream allowance and as many other calls."""
    # ProtocolWrapper builds each HTTP/2 connection from this module-level name.
    hypercorn.protocol.H2Protocol = _GatewayH2  # type: ignore[misc]
    config = Config()
    config.accesslog = None
    config.graceful_timeout = 5.0
    config.keep_alive_max_requests = 2**31
    config.h2_max_concurrent_streams = max_streams_per_user + CALLS_BESIDES_STREAMS
    config.keep_alive_timeout = 300.0
    return config
