"""Many WatchJob streams on one gRPC channel, through the embedded stack: more than 1,000 of
them (hypercorn once sent nothing at all on a connection with a 1,000th stream open) each get
every change, and a stream beyond the per-user limit is refused, never left silent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.watchers import measure
from simlab.devstack.stack import Stack
from tests.conftest import running_stack

pytestmark = pytest.mark.e2e
LIMIT = 1100


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("stack"), SIMLAB_GATEWAY_MAX_STREAMS_PER_USER=str(LIMIT)
    )


@pytest.fixture
def without_runner(stack: Stack) -> Iterator[Stack]:
    """The test plays the job's worker."""
    stack.stop_service("runner")
    yield stack
    stack.start_service("runner")


@pytest.mark.timeout(900)
def test_watchers_up_to_the_limit_on_one_channel_get_every_change_and_one_more_is_refused(
    without_runner: Stack,
) -> None:
    outcome = asyncio.run(
        measure(
            without_runner,
            LIMIT + 1,
            connections=1,
            changes=3,
            token="alice-token",
            # A loaded machine; an idle one takes a few seconds.
            first_event_timeout_s=300,
            change_timeout_s=120,
        )
    )
    print("\n".join(outcome.lines()))
    assert outcome.first_events == LIMIT
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("RESOURCE_EXHAUSTED")
    assert "SIMLAB_GATEWAY_MAX_STREAMS_PER_USER" in outcome.errors[0]
    assert {n: len(times) for n, times in outcome.seen.items()} == {1: LIMIT, 2: LIMIT, 3: LIMIT}
