import asyncio
import logging

import pytest

from simlab.common import startup


class Unreachable(Exception):
    pass


def test_retries_while_unreachable_then_returns_the_result(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(startup, "FIRST_DELAY_S", 0.001)
    calls = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise Unreachable("connection refused")
        return "connected"

    with caplog.at_level(logging.WARNING):
        result = asyncio.run(
            startup.when_reachable(
                "PostgreSQL", attempt, lambda e: isinstance(e, Unreachable), logging.getLogger()
            )
        )
    assert result == "connected"
    assert len(calls) == 4
    ours = [r.getMessage() for r in caplog.records if r.name == "root"]
    assert ours == ["waiting for PostgreSQL: connection refused"] * 3


def test_an_error_waiting_cannot_cure_ends_it_at_once() -> None:
    calls = []

    async def attempt() -> None:
        calls.append(1)
        raise ValueError("bad database URL")

    with pytest.raises(ValueError, match="bad database URL"):
        asyncio.run(
            startup.when_reachable(
                "PostgreSQL", attempt, lambda e: isinstance(e, Unreachable), logging.getLogger()
            )
        )
    assert len(calls) == 1


def test_the_delay_doubles_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)  # what stamina awaits
    calls = []

    async def attempt() -> int:
        calls.append(1)
        if len(calls) <= 7:
            raise Unreachable()
        return 7

    asyncio.run(
        startup.when_reachable(
            "NATS", attempt, lambda e: isinstance(e, Unreachable), logging.getLogger(), 2.0
        )
    )
    assert slept == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
