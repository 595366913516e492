"""Worker tokens expire and are renewed: a run that lasts several times the tokens' TTL still
succeeds, because the runner rewrites each shard's token file before the token expires and
the worker reads it again."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simlab.client import Client
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import running_stack

TTL_S = 3


@pytest.fixture(scope="module")
def short_ttl_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("tokens"), SIMLAB_RUNNER_WORKER_TOKEN_TTL_S=str(TTL_S)
    )


def test_a_run_longer_than_the_token_ttl_succeeds(short_ttl_stack: Stack) -> None:
    client = Client(short_ttl_stack.url, token="alice-token")
    # 40 blocks of 0.25 s over 2 shards: some 5 s per shard, well past the 3 s TTL.
    job = client.submit("test_slow", {"samples": 4000, "seconds_per_block": 0.25}, shards=2, seed=3)
    token_file = short_ttl_stack.state_dir / "runner" / "local" / job.job_id / "shard-0.token"
    first = _read_when_there(token_file)
    assert first.startswith(f"w1.{job.job_id}.0.1.")
    assert token_file.stat().st_mode & 0o777 == 0o600
    # Renewed at a third of the TTL, while the shard runs.
    assert _read_when_changed(token_file, first, within_s=TTL_S).startswith(f"w1.{job.job_id}.0.1.")
    done = client.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert done.progress.samples_done == 4000


def _read_when_there(path: Path, within_s: float = 30) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            if text := path.read_text():
                return text
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _read_when_changed(path: Path, old: str, within_s: float) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if (text := path.read_text()) != old:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path} was not renewed within {within_s} s")
