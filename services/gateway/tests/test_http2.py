"""The HTTP server's HTTP/2 connections, against a real hypercorn with a raw HTTP/2 client: one
connection carries more than 1,000 open streams, each of which gets its answer; what many
streams send at once leaves in a few socket writes, each stream's bytes whole and in order;
a stream held by flow control sends the rest as its window opens, and one whose sender waits
for room in its buffer gets it; the streams with something to send take turns."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import priority
import pytest
from hypercorn.asyncio import serve

from simlab_gateway.transport.http2 import (
    CALLS_BESIDES_STREAMS,
    FRAMES_PER_WRITE,
    RoundRobin,
    hypercorn_config,
)

REQUEST = [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "test")]
STREAMS = 1200
DEFAULT_WINDOW = 65535


async def open_stream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers at once and keeps the stream open, like a watch, until the client leaves."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first event", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass


async def received(
    port: int,
    streams: int,
    within_s: float,
    until: Callable[[dict[int, bytes]], bool],
    window: int | None = None,
) -> dict[int, bytes]:
    """Opens `streams` requests on one HTTP/2 connection and reads until `until` holds for
    what each stream has received (or `within_s` passes): stream id -> its bytes. `window`:
    each stream's flow-control window, opened again as its bytes are read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    if window is not None:
        conn.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
        )
    conn.initiate_connection()
    if window is not None and window > DEFAULT_WINDOW:
        # The connection's window too, which starts at the default.
        conn.increment_flow_control_window(window - DEFAULT_WINDOW)
    writer.write(conn.data_to_send())
    bodies: dict[int, bytes] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    opened = False
    try:
        while not until(bodies) and loop.time() < deadline:
            # Open them all once the server's settings say it takes that many.
            if not opened and conn.remote_settings.max_concurrent_streams >= streams:
                for _ in range(streams):
                    conn.send_headers(conn.get_next_available_stream_id(), REQUEST, end_stream=True)
                opened = True
            writer.write(conn.data_to_send())
            try:
                data = await asyncio.wait_for(reader.read(65536), deadline - loop.time())
            except TimeoutError:
                break
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            writer.write(conn.data_to_send())
    finally:
        writer.close()
    return bodies


@contextlib.asynccontextmanager
async def serving(app: Any, max_streams_per_user: int) -> AsyncIterator[int]:
    """hypercorn with the gateway's configuration, serving `app`; yields its port."""
    config = hypercorn_config(max_streams_per_user)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config.bind = [f"127.0.0.1:{port}"]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
            else:
                writer.close()
                break
        yield port
    finally:
        stop.set()
        await server


def test_one_connection_carries_more_than_a_thousand_open_streams() -> None:
    async def scenario() -> int:
        config = hypercorn_config(max_streams_per_user=STREAMS)
        assert config.h2_max_concurrent_streams == STREAMS + CALLS_BESIDES_STREAMS
        async with serving(open_stream_app, STREAMS) as port:
            bodies = await received(port, STREAMS, 60, lambda got: len(got) == STREAMS)
            return len(bodies)

    # hypercorn's own scheduler answered none of them once a 1,000th stream was open.
    assert asyncio.run(scenario()) == STREAMS


def test_what_many_streams_send_at_once_leaves_in_a_few_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Like one job change to its watchers: every stream waits until all have started, then
    all send two messages. Each stream gets both, whole and in order, and the server writes
    them to the socket in about one write per FRAMES_PER_WRITE streams, not one per frame."""
    streams, messages = 300, 2
    started: list[int] = []
    change = asyncio.Event()

    async def watch_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        started.append(1)
        if len(started) == streams:
            change.set()
        await change.wait()
        for index in range(messages):
            body = f"stream of {id(scope)}: message {index};".encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass

    writes: list[int] = []
    write = asyncio.StreamWriter.write

    def counted(self: asyncio.StreamWriter, data: bytes) -> None:
        if change.is_set():
            writes.append(len(data))
        write(self, data)

    monkeypatch.setattr(asyncio.StreamWriter, "write", counted)

    def complete(got: dict[int, bytes]) -> bool:
        return len(got) == streams and all(body.count(b";") == messages for body in got.values())

    async def scenario() -> dict[int, bytes]:
        async with serving(watch_app, streams) as port:
            return await received(port, streams, 60, complete)

    bodies = asyncio.run(scenario())
    assert complete(bodies)
    for body in bodies.values():
        first, second, _ = body.split(b";")
        assert first.endswith(b"message 0") and second.endswith(b"message 1")
        assert first.removesuffix(b"message 0") == second.removesuffix(b"message 1")
    frames = streams * messages
    # The loop writes every FRAMES_PER_WRITE streams served, and once more when it has
    # served them all; the client's window updates add a few.
    assert len(writes) <= 2 * frames // FRAMES_PER_WRITE + 10, len(writes)


def test_a_stream_held_by_flow_control_sends_the_rest_as_its_window_opens() -> None:
    """Each stream's window is far smaller than what it sends: the rest goes out, in order,
    as the client's window updates come in."""
    streams, size = 20, 5000
    payload = bytes(range(256)) * (size // 256) + b"end"

    async def large_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload, "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass

    def complete(got: dict[int, bytes]) -> bool:
        return len(got) == streams and all(len(body) == len(payload) for body in got.values())

    async def scenario() -> dict[int, bytes]:
        async with serving(large_app, streams) as port:
            return await received(port, streams, 30, complete, window=256)

    bodies = asyncio.run(scenario())
    assert len(bodies) == streams and all(body == payload for body in bodies.values())


def test_pieces_larger_than_a_streams_buffer_arrive_whole_one_after_another() -> None:
    """A download's chunks, each as large as what hypercorn buffers per stream (two frames):
    the sender waits for room after each and gets it once the loop has sent them, though the
    last frame sent was a full one."""
    streams, pieces, size = 2, 5, 2 * 16384
    piece = bytes(range(256)) * (size // 256)

    async def download_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(pieces):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def complete(got: dict[int, bytes]) -> bool:
        return len(got) == streams and all(len(body) == pieces * size for body in got.values())

    async def scenario() -> dict[int, bytes]:
        async with serving(download_app, streams) as port:
            return await received(port, streams, 20, complete, window=4 * 1024 * 1024)

    bodies = asyncio.run(scenario())
    assert len(bodies) == streams and all(body == piece * pieces for body in bodies.values())


def test_streams_with_something_to_send_take_turns() -> None:
    turns = RoundRobin()
    for stream_id in (1, 3, 5):
        turns.insert_stream(stream_id)
    assert [next(turns) for _ in range(4)] == [1, 3, 5, 1]
    turns.block(3)
    assert [next(turns) for _ in range(3)] == [5, 1, 5]
    # A stream that has data again waits behind those already waiting; one already waiting
    # keeps its place.
    turns.unblock(3)
    turns.unblock(1)
    assert [next(turns) for _ in range(3)] == [1, 5, 3]
    for stream_id in (1, 3, 5):
        turns.block(stream_id)
    with pytest.raises(priority.DeadlockError):
        next(turns)
    turns.remove_stream(3)
    turns.unblock(5)
    assert next(turns) == 5


def test_round_robin_keeps_the_priority_trees_errors_and_has_no_cap() -> None:
    turns = RoundRobin()
    turns.insert_stream(1)
    with pytest.raises(priority.DuplicateStreamError):
        turns.insert_stream(1)
    for missing in (turns.block, turns.unblock, turns.remove_stream, turns.reprioritize):
        with pytest.raises(priority.MissingStreamError):
            missing(7)
    # Priorities are accepted and change nothing.
    turns.reprioritize(1, weight=200)
    for stream_id in range(3, 2 * 5000, 2):
        turns.insert_stream(stream_id)
    assert len({next(turns) for _ in range(5000)}) == 5000
