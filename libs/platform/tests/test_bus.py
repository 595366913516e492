"""The NATS connection's credentials: apart from the address, and never in a log line."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from simlab.adapters.bus import close_nats, connect_nats, split_credentials
from simlab.common.logs import JsonFormatter
from simlab.devstack.servers import Nats


def test_credentials_are_split_from_the_address() -> None:
    assert split_credentials("nats://runner:p%40ss@nats:4222") == (
        "nats://nats:4222",
        "runner",
        "p@ss",
    )
    assert split_credentials("nats://127.0.0.1:4222") == ("nats://127.0.0.1:4222", None, None)


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines, as a service's does."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield out
    root.removeHandler(handler)


def test_the_password_never_reaches_a_log_line(
    secured_nats: Nats, service_log: io.StringIO
) -> None:
    url = secured_nats.url_for("gateway")
    password = secured_nats.passwords["gateway"]
    log = logging.getLogger("test")

    async def main() -> None:
        client = await connect_nats(url, "simlab-gateway")
        log.warning("connected to %s", url, extra={"url": url})
        try:
            raise RuntimeError(f"cannot use {url}")
        except RuntimeError:
            log.exception("failed")
        await close_nats(client)

    asyncio.run(main())
    lines = service_log.getvalue()
    assert password not in lines
    assert lines.count("gateway:***@") == 3
