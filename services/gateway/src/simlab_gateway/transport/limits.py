"""What a request to the API may cost before its caller is known, and after: ASGI middleware in
front of the connect-python applications.

- The caller is authenticated from the headers before any body byte is read: an unknown
  bearer token is refused at once, so a stranger's body is never read nor decompressed.
- The body on the wire is capped per method (the method's read limit, plus framing), and so is
  what it decompresses to: gzip is inflated in bounded steps and refused past the limit, so a
  gzip bomb costs the limit, not what it would inflate to.
- A request body that is not the method's message (bad JSON, bad protobuf, nesting too deep)
  is INVALID_ARGUMENT, not connect-python's UNKNOWN.
- A refused body is never left half-read on a connection that carries more calls: over HTTP/2
  it is read and dropped, over HTTP/1.1 the answer closes the connection.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from connectrpc import _codec
from connectrpc.code import Code as ConnectCode
from connectrpc.compression import Compression
from connectrpc.errors import ConnectError
from google.protobuf.message import Message
from starlette.datastructures import Headers

from simlab.common.errors import SimlabError
from simlab.transport.connect import to_connect

# Every request but a push: the largest message a caller needs (parameters, a preset) with
# room to spare. gRPC's own default receive limit.
READ_MAX_BYTES = 4 * 1024 * 1024
# Envelope prefixes and a compressor's worst case beyond the message itself.
FRAMING_BYTES = 64 * 1024
# How much gzip inflates per step: the most a refused bomb holds at once beyond the limit.
_INFLATE_STEP = 256 * 1024

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
CallerT = TypeVar("CallerT")


class BoundedGzip(Compression):
    """gzip that refuses to inflate beyond `max_bytes` (RESOURCE_EXHAUSTED) and answers a body
    that is not gzip with INVALID_ARGUMENT."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def name(self) -> str:
        return "gzip"

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        return compressor.compress(data) + compressor.flush()

    def decompress(self, data: bytes | bytearray | memoryview) -> bytes:
        out = bytearray()
        pending = bytes(data)
        try:
            # A gzip stream may hold several members, one after the other.
            while pending:
                inflater = zlib.decompressobj(31)
                while pending and not inflater.eof:
                    out += inflater.decompress(pending, _INFLATE_STEP)
                    pending = inflater.unconsumed_tail
                    if len(out) > self.max_bytes:
                        raise ConnectError(
                            ConnectCode.RESOURCE_EXHAUSTED,
                            f"the request decompresses to more than {self.max_bytes} bytes",
                        )
                if not inflater.eof:
                    raise ConnectError(ConnectCode.INVALID_ARGUMENT, "truncated gzip body")
                pending = inflater.unused_data
        except zlib.error as error:
            raise ConnectError(ConnectCode.INVALID_ARGUMENT, f"not a gzip body: {error}") from None
        return bytes(out)


class _StrictCodec:
    """A connect-python codec whose decoding errors are the caller's: INVALID_ARGUMENT."""

    def __init__(self, codec: Any) -> None:
        self.codec = codec

    def name(self) -> str:
        return str(self.codec.name())

    def encode(self, message: Message) -> bytes:
        return bytes(self.codec.encode(message))

    def decode(self, data: bytes | bytearray, message: Message) -> Message:
        try:
            return self.codec.decode(data, message)
        except ConnectError:
            raise
        except Exception as error:  # RecursionError too: nesting too deep
            reason = str(error)[:200] or type(error).__name__
            raise ConnectError(
                ConnectCode.INVALID_ARGUMENT,
                f"the request is not a {message.DESCRIPTOR.full_name}: {reason}",
            ) from None


def strict_codecs() -> None:
    """connect-python keeps its codecs in one registry and turns any decoding error into
    UNKNOWN; wrap each once so that a malformed request is INVALID_ARGUMENT."""
    for name, codec in list(_codec._codecs.items()):
        if not isinstance(codec, _StrictCodec):
            _codec._codecs[name] = _StrictCodec(codec)


class RequestGate(Generic[CallerT]):
    """Routes each call to the application that enforces its method's read limit, after the
    caller is authenticated from the headers alone; the application reads them from `caller`.

    `apps`: method name -> its application; `default`: every other method's. Each application
    must be built with `read_max_bytes=limits[method]` and `compressions=[BoundedGzip(...)]`
    (see `gated`)."""

    def __init__(
        self,
        path: str,
        default: ASGIApp,
        apps: Mapping[str, tuple[ASGIApp, int]],
        default_limit: int,
        authenticate: Callable[[Headers], Awaitable[CallerT]],
        caller: ContextVar[CallerT],
    ) -> None:
        self.path = path
        self.default = default
        self.apps = apps
        self.default_limit = default_limit
        self.authenticate = authenticate
        self.caller = caller
        strict_codecs()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.default(scope, receive, send)
            return
        method = scope["path"].rstrip("/").rsplit("/", 1)[-1]
        app, limit = self.apps.get(method, (self.default, self.default_limit))
        headers = Headers(scope=scope)
        http2 = scope.get("http_version") == "2"
        if not http2:
            body = _Body(receive)
            receive, send = body, _closing_unless_read(send, body)
        try:
            caller = await self.authenticate(headers)
        except SimlabError as error:
            # The application answers in the call's protocol; it never sees the body.
            await app(scope, await _refusing(to_connect(error), receive, http2), send)
            return
        max_body = limit + FRAMING_BYTES
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            await app(scope, await _refusing(_too_large(max_body), receive, http2), send)
            return
        bound = self.caller.set(caller)
        try:
            await app(scope, _capped(receive, max_body, http2), send)
        finally:
            self.caller.reset(bound)


def _too_large(max_body: int) -> ConnectError:
    return ConnectError(
        ConnectCode.RESOURCE_EXHAUSTED, f"the request body is larger than {max_body} bytes"
    )


async def _refusing(error: ConnectError, receive: Receive, http2: bool) -> Receive:
    """A receive that raises `error`. Over HTTP/2 the body is first read and dropped, piece by
    piece: hypercorn (0.18) drops the connection, with every other call on it, when a
    stream's data arrives after its answer."""
    if http2:
        await _drain(receive)

    async def refuse() -> dict[str, Any]:
        raise error

    return refuse


def _capped(receive: Receive, max_body: int, http2: bool) -> Receive:
    """`receive`, refusing once the body passes `max_body` bytes (a body of unknown length)."""
    seen = 0

    async def capped() -> dict[str, Any]:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_body:
                if http2 and message.get("more_body", False):
                    await _drain(receive)
                raise _too_large(max_body)
        return message

    return capped


class _Body:
    """A request's body as the application reads it, remembering whether it was read whole."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.read_whole = False

    async def __call__(self) -> dict[str, Any]:
        message = await self.receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.read_whole = True
        return message


def _closing_unless_read(send: Send, body: _Body) -> Send:
    """`send`, whose answer says `connection: close` when it starts before the body was read
    whole (HTTP/1.1): the server would otherwise wait on the unread rest as the connection's
    next request, and the client's next call on it would hang until it gave up."""

    async def closing(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not body.read_whole:
            headers = [*message.get("headers", ()), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return closing


async def _drain(receive: Receive) -> None:
    """Reads the rest of the request body, keeping none of it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
