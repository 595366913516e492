"""The one way a service connects to NATS: reconnect forever, and say in the log when the
connection drops, comes back or reports an error.

A service's NATS URL carries its NATS user and password (`nats://runner:<password>@host:4222`,
see deploy/helm/simlab/files/nats-auth.conf). The password never reaches a log line: it is
handed to the client apart from the address, and every line the process logs from then on
shows it as ***. Replies (JetStream API answers, pulled messages) come to the user's own
inbox prefix, `_INBOX_<user>`, the only inboxes that user may subscribe to."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

from nats.aio.client import DEFAULT_INBOX_PREFIX, Client
from nats.errors import Error as NatsError

log = logging.getLogger("nats")
MASK = "***"
_hidden: set[str] = set()


async def connect_nats(
    url: str, name: str, on_reconnected: Callable[[], Awaitable[None]] | None = None
) -> Client:
    """A client that reconnects forever; `on_reconnected` runs after each reconnection (what
    was published while it was away never reached its plain subscriptions)."""
    client = Client()
    address, user, password = split_credentials(url)
    if password:
        hide_in_logs(password)
        hide_in_logs(urlsplit(url).password or password)  # as the URL spells it, too

    async def on_error(error: Exception) -> None:
        log.warning("%s: %s", name, error)

    async def on_disconnected() -> None:
        if not (client.is_closed or client.is_draining):
            log.warning("%s: disconnected from NATS", name)

    async def reconnected() -> None:
        log.info("%s: reconnected to NATS", name)
        if on_reconnected is not None:
            await on_reconnected()

    await client.connect(
        address,
        name=name,
        user=user,
        password=password,
        inbox_prefix=inbox_prefix(user),
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # annotated int, used as seconds
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=reconnected,
    )
    return client


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(the URL without credentials, user, password); None for what the URL lacks."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    address = parts._replace(netloc=host).geturl()
    password = None if parts.password is None else unquote(parts.password)
    return address, unquote(parts.username), password


def inbox_prefix(user: str | None) -> str:
    return f"{DEFAULT_INBOX_PREFIX.decode()}_{user}" if user else DEFAULT_INBOX_PREFIX.decode()


def hide_in_logs(secret: str) -> None:
    """From now on, every line the root logger's handlers write shows `secret` as ***."""
    _hidden.add(secret)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, _Redacting):
            handler.setFormatter(_Redacting(handler.formatter or logging.Formatter()))


class _Redacting(logging.Formatter):
    """Another formatter's lines with every hidden secret masked (in the message, the extra
    fields and the traceback alike)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in _hidden:
            line = line.replace(secret, MASK)
        return line


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
