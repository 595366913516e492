"""Workers' output end to end: followed live while a job runs (the runner ships it through
JetStream), served from the object store after it ended (failed jobs too), owner only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.e2e
TERMINAL = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED}
SLOW = {"samples": 4000, "seconds_per_block": 0.1}


def wait_running(client: Client, job_id: str) -> None:
    for event in client.watch(job_id):
        if event.job.progress.blocks_done >= 1:
            return


def test_following_a_running_job_shows_its_output_as_it_comes(alice: Client) -> None:
    job = alice.submit("test_slow", SLOW, shards=2, seed=3)
    seen: list[tuple[int, bytes, int]] = []  # (shard, data, job state when it arrived)
    for chunk in alice.logs(job.job_id, follow=True):
        state = alice.get(job.job_id).state if b"blocks," in chunk.data else 0
        seen.append((chunk.shard, chunk.data, state))
    # Progress lines arrived while the job was still running...
    progress = [state for _, data, state in seen if b"blocks," in data]
    assert progress and progress[0] not in TERMINAL
    # ...and the follow ended with the job, with every shard's output through its end.
    assert alice.get(job.job_id).state == pb.JOB_STATE_SUCCEEDED
    output = {shard: b"".join(d for s, d, _ in seen if s == shard) for shard in (0, 1)}
    assert all(b"20/20 blocks" in output[shard] for shard in (0, 1))
    assert b"complete" in output[0] + output[1]
    # The live output is what the stored logs hold.
    assert b"".join(c.data for c in alice.logs(job.job_id, shard=1)) == output[1]


def test_without_follow_a_running_job_gives_what_it_printed_so_far(alice: Client) -> None:
    job = alice.submit("test_slow", {**SLOW, "samples": 20_000}, seed=4)
    wait_running(alice, job.job_id)
    so_far = b"".join(c.data for c in alice.logs(job.job_id))
    assert b"block(s) of" in so_far
    assert alice.get(job.job_id).state == pb.JOB_STATE_RUNNING
    alice.cancel(job.job_id)
    assert alice.wait(job.job_id, progress=False).state == pb.JOB_STATE_CANCELLED


def test_logs_of_a_failed_job_are_tailable_and_downloadable_after_it_ended(
    stack: Stack, alice: Client
) -> None:
    job = alice.submit("test_failing", {"samples": 1000, "fail_at": 3}, shards=2)
    assert alice.wait(job.job_id, progress=False).state == pb.JOB_STATE_FAILED
    # At once (the stored logs may still be on their way), then from storage: what was seen
    # at once is where the stored log starts (a shard may still be exiting when the job
    # fails, and write its last lines after that first read).
    right_after = {0: b"", 1: b""}
    for chunk in alice.logs(job.job_id):
        right_after[chunk.shard] += chunk.data
    assert b"model exploded on purpose" in right_after[0] + right_after[1]
    deadline = time.monotonic() + 20
    names = {"logs/shard-0.log", "logs/shard-1.log"}
    while not names <= {a.name for a in alice.artifacts(job.job_id)}:
        assert time.monotonic() < deadline, "the worker logs were not kept"
        time.sleep(0.2)
    for shard in (0, 1):
        stored = b"".join(c.data for c in alice.logs(job.job_id, follow=True, shard=shard))
        assert stored.startswith(right_after[shard])
        assert stored.endswith(b"\n") and b'"msg": "exiting"' in stored
        request = urllib.request.Request(
            f"{stack.url}/files/{job.job_id}/logs/shard-{shard}.log",
            headers={"Authorization": "Bearer alice-token"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.read() == stored


def test_another_user_gets_not_found(alice: Client, bob: Client) -> None:
    running = alice.submit("test_slow", SLOW, seed=5)
    done = alice.wait(alice.submit("pi", {"samples": 1000}, seed=5).job_id, progress=False)
    for job_id in (running.job_id, done.job_id):
        with pytest.raises(SimlabError) as caught:
            list(bob.logs(job_id, follow=True))
        assert caught.value.code == Code.NOT_FOUND
    alice.cancel(running.job_id)


def test_simlab_logs_follows_with_shard_labels_and_filters_by_shard(stack: Stack) -> None:
    def simlab(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "simlab.cli", "--server", stack.url, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200", "SIMLAB_TOKEN": stack.token},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    with Client(stack.url, token=stack.token) as local:
        job = local.submit("test_slow", {**SLOW, "samples": 2000}, shards=2, seed=6)
    followed = simlab("logs", job.job_id, "-f").splitlines()
    assert any(line.startswith("[shard 0] shard 0: 10/10 blocks") for line in followed)
    assert any(line.startswith("[shard 1] shard 1: 10/10 blocks") for line in followed)
    one = [
        json.loads(line)
        for line in simlab("logs", job.job_id, "--shard", "1", "--json").splitlines()
    ]
    assert one and {entry["shard"] for entry in one} == {1}
    assert any(entry["line"].startswith("shard 1: 10/10 blocks") for entry in one)
