"""gRPC client helpers: channels with keepalive and the bearer-token metadata every
internal call carries."""

from __future__ import annotations

import grpc

MIB = 1024 * 1024
# gRPC's default reconnect backoff grows to 120 s: a job store back after a 30 s restart was
# found again only some 10 s later (the chaos suite's time to recover). Retrying at most every
# 2 s costs nothing and bounds that delay.
MAX_RECONNECT_BACKOFF_MS = 2_000


def channel_options(max_receive_bytes: int = 64 * MIB) -> list[tuple[str, int]]:
    return [
        ("grpc.initial_reconnect_backoff_ms", 500),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", max_receive_bytes),
        ("grpc.max_send_message_length", 64 * MIB),
    ]


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def aio_channel(target: str, max_receive_bytes: int = 64 * MIB) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(target, options=channel_options(max_receive_bytes))


def channel(target: str, max_receive_bytes: int = 64 * MIB) -> grpc.Channel:
    """The blocking twin of aio_channel, for the worker's synchronous calls."""
    return grpc.insecure_channel(target, options=channel_options(max_receive_bytes))
