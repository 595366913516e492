"""The one way a service connects to NATS: reconnect forever, and say in the log when the
connection drops, comes back or reports an error."""

from __future__ import annotations

import logging

from nats.aio.client import Client
from nats.errors import Error as NatsError

log = logging.getLogger("nats")


async def connect_nats(url: str, name: str) -> Client:
    client = Client()

    async def on_error(error: Exception) -> None:
        log.warning("%s: %s", name, error)

    async def on_disconnected() -> None:
        if not (client.is_closed or client.is_draining):
            log.warning("%s: disconnected from NATS", name)

    async def on_reconnected() -> None:
        log.info("%s: reconnected to NATS", name)

    await client.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # annotated int, used as seconds
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    return client


async def close_nats(client: Client, *, drain: bool = True) -> None:
    """Closes the connection, draining it first (what is buffered is sent) when `drain` and
    NATS is there. NATS already gone (a whole stack stopped at once, Ctrl-C reaching every
    process) leaves nothing to deliver: one warning, not a traceback."""
    try:
        if drain and client.is_connected:
            await client.drain()
        else:
            await client.close()
    except (NatsError, OSError) as error:
        log.warning("could not close the NATS connection cleanly: %s", error)
