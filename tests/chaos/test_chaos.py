"""Chaos on the embedded stack: jobs in flight while the gateway, the job store, the runner,
a worker process, nats-server and PostgreSQL are each killed with SIGKILL and restarted; then
every job ended, none lost or doubled, and every result is the one an undisturbed run gives.

`make test` runs the quick version (a few jobs); `make chaos` runs it with
SIMLAB_CHAOS_JOBS=100 and prints the tables."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from simlab.client import Client
from simlab.devstack.stack import Stack
from tests.chaos.harness import chaos, job_specs, stack_faults
from tests.conftest import running_stack

pytestmark = pytest.mark.e2e
FULL = "SIMLAB_CHAOS_JOBS" in os.environ  # make chaos
JOBS = int(os.environ.get("SIMLAB_CHAOS_JOBS", "10"))
# How long the slow half of the jobs runs undisturbed: long enough to span the faults.
SLOW_SECONDS = float(os.environ.get("SIMLAB_CHAOS_SLOW_SECONDS", "60" if FULL else "40"))
# The size of the computing half (1: seconds of CPU per job).
WORK = 1.0 if FULL else 0.2


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Room for every shard of the quick run; the full run's jobs partly wait their turn.
    yield from running_stack(tmp_path_factory.mktemp("chaos"), SIMLAB_RUNNER_MAX_WORKERS="24")


@pytest.mark.timeout(3600)
def test_every_job_survives_every_part_killed_in_turn(
    chaos_stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(chaos_stack.url, token="alice-token") as alice, capsys.disabled():
        print()
        report = chaos(
            chaos_stack, alice, job_specs(JOBS, SLOW_SECONDS, WORK), stack_faults(chaos_stack)
        )
        text = report.text(f"chaos, embedded stack: {JOBS} jobs")
        print(f"\n{text}")
    verdict = report.verdict
    assert not verdict.problems, text
    assert all(r.seconds is not None for r in report.faults), text
    assert verdict.terminal == verdict.jobs and verdict.lost == 0 and verdict.doubled_jobs == 0
