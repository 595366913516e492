"""The HTTP server's connection limits, against a real hypercorn with a raw HTTP/2 client: one
connection carries more than 1,000 open streams, each of which gets its answer."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h2.config
import h2.connection
import h2.events
from hypercorn.asyncio import serve

from simlab_gateway.transport.http2 import CALLS_BESIDES_STREAMS, hypercorn_config

REQUEST = [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "test")]
STREAMS = 1200


async def open_stream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers at once and keeps the stream open, like a watch, until the client leaves."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first event", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass


async def streams_answered(port: int, streams: int, within_s: float) -> int:
    """Opens `streams` requests on one HTTP/2 connection; how many got their first bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    writer.write(conn.data_to_send())
    answered: set[int] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    opened = False
    try:
        while len(answered) < streams and loop.time() < deadline:
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
                    answered.add(event.stream_id)
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            writer.write(conn.data_to_send())
    finally:
        writer.close()
    return len(answered)


def test_one_connection_carries_more_than_a_thousand_open_streams() -> None:
    async def scenario() -> int:
        config = hypercorn_config(max_streams_per_user=STREAMS)
        assert config.h2_max_concurrent_streams == STREAMS + CALLS_BESIDES_STREAMS
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config.bind = [f"127.0.0.1:{port}"]
        stop = asyncio.Event()
        serving = serve(open_stream_app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
        server = asyncio.create_task(serving)
        try:
            for _ in range(200):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.02)
                else:
                    writer.close()
                    break
            return await streams_answered(port, STREAMS, within_s=60)
        finally:
            stop.set()
            await server

    # hypercorn's own scheduler answered none of them once a 1,000th stream was open.
    assert asyncio.run(scenario()) == STREAMS
