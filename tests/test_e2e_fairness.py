"""End to end on the embedded stack: the runner's cap on running workers holds (the worker
processes are sampled while the jobs run), queued jobs wait in turn, FIFO per user and
round-robin across users, a runner killed while jobs wait loses nothing and starts nothing
twice, and the job store's per-user quotas reach the client as RESOURCE_EXHAUSTED."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import psutil
import pytest

from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack
from simlab.transport.errors import is_refusal
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import TOKENS, running_stack

pytestmark = pytest.mark.e2e
MAX_WORKERS = 4
MAX_ACTIVE_JOBS = 6
MAX_PRESETS = 2
# 16 shards of 2 blocks of 100 samples: each shard sleeps 2 x 0.1 s.
SIXTEEN_SHARDS = {"samples": 3200, "seconds_per_block": 0.1}
SAMPLE_INTERVAL_S = 0.1
ENDED = (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)
ACTIVE = (
    pb.JOB_STATE_QUEUED,
    pb.JOB_STATE_LAUNCHING,
    pb.JOB_STATE_RUNNING,
    pb.JOB_STATE_CANCELLING,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tokens = {**TOKENS, "carol-token": "carol"}
    yield from running_stack(
        tmp_path_factory.mktemp("fairness"),
        SIMLAB_GATEWAY_TOKENS=",".join(f"{t}={u}" for t, u in tokens.items()),
        SIMLAB_RUNNER_MAX_WORKERS=str(MAX_WORKERS),
        SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER=str(MAX_ACTIVE_JOBS),
        SIMLAB_JOBSTORE_MAX_PRESETS_PER_USER=str(MAX_PRESETS),
    )


@pytest.fixture
def carol(stack: Stack) -> Iterator[Client]:
    with Client(stack.url, token="carol-token") as client:
        yield client


@pytest.fixture(autouse=True)
def nothing_left_running(stack: Stack) -> Iterator[None]:
    """Each test starts with idle workers and empty quotas, even after one that failed."""
    yield
    for token in ("alice-token", "bob-token", "carol-token"):
        with Client(stack.url, token=token) as client:
            active, _ = client.list_jobs(states=list(ACTIVE), page_size=500)
            for job in active:
                with contextlib.suppress(SimlabError):
                    client.cancel(job.job_id)
            for job in active:
                client.wait(job.job_id, progress=False)


@dataclass
class WorkerSampler:
    """Counts the shards of `job_ids` with a live worker process every SAMPLE_INTERVAL_S, in
    a thread, and remembers which processes ran each shard."""

    stack: Stack
    job_ids: set[str]
    most: int = 0
    samples: int = 0
    pids: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    # pid -> (job, shard) of the workers seen
    known: dict[int, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            seen: list[tuple[psutil.Process, tuple[str, str]]] = []
            for process in psutil.process_iter():
                with contextlib.suppress(psutil.Error):
                    shard = self._shard_of(process)
                    # A worker's own child (a fork before an exec, as imports do) is part of
                    # its shard, not another worker.
                    if shard is not None and self.known.get(process.ppid()) != shard:
                        seen.append((process, shard))
                        self.pids.setdefault(shard, set()).add(process.pid)
            # A sweep takes a while: one worker may end and the next start during it. Those
            # seen that are still alive now were all alive at the first of these checks.
            live = {shard for process, shard in seen if _alive(process)}
            self.most = max(self.most, len(live))
            self.samples += 1
            time.sleep(SAMPLE_INTERVAL_S)

    def _shard_of(self, process: psutil.Process) -> tuple[str, str] | None:
        # Only workers are remembered: a process forked by the runner is the runner's copy
        # until it execs the worker.
        if process.pid not in self.known and "simlab_worker" in process.cmdline():
            env = process.environ()
            if env.get("SIMLAB_WORKER_JOB_ID") in self.job_ids:
                shard = (env["SIMLAB_WORKER_JOB_ID"], env.get("SIMLAB_WORKER_SHARD", "?"))
                self.known[process.pid] = shard
            elif process.pid in (recorded := self._recorded()):
                # Forked by the warm start: /proc shows the environment the zygote started
                # with, and the runner's record of the pid tells the shard.
                self.known[process.pid] = recorded[process.pid]
        return self.known.get(process.pid)

    def _recorded(self) -> dict[int, tuple[str, str]]:
        """pid -> (job, shard) of the workers the runner has records of."""
        recorded = {}
        for job_id in self.job_ids:
            for record in (self.stack.state_dir / "runner" / "local" / job_id).glob("shard-*"):
                with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                    if record.suffix == ".json":
                        shard = record.stem.removeprefix("shard-")
                        recorded[json.loads(record.read_text())["pid"]] = (job_id, shard)
        return recorded

    def wait(self, client: Client, jobs: list[pb.Job]) -> list[pb.Job]:
        """The jobs once all have ended; fails as soon as more workers than the cap ran."""
        while True:
            assert self.most <= MAX_WORKERS, f"{self.most} shards' workers ran at once"
            done = [client.get(job.job_id) for job in jobs]
            if all(job.state in ENDED for job in done):
                return done
            time.sleep(0.5)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def launched_at(job: pb.Job) -> float:
    (entry,) = [h for h in job.history if h.state == pb.JOB_STATE_LAUNCHING]
    return entry.at.ToDatetime().timestamp()


# 80 worker starts, 4 at a time: minutes on a busy machine.
@pytest.mark.timeout(900)
def test_five_jobs_of_sixteen_shards_never_run_more_than_the_cap_and_all_finish(
    stack: Stack, alice: Client
) -> None:
    jobs = [alice.submit("test_slow", SIXTEEN_SHARDS, shards=16, seed=i + 1) for i in range(5)]
    sampler = WorkerSampler(stack, {job.job_id for job in jobs})
    try:
        done = sampler.wait(alice, jobs)
    finally:
        sampler.stop()
    assert [job.state for job in done] == [pb.JOB_STATE_SUCCEEDED] * 5, [
        job.error.message for job in done
    ]
    assert all(job.progress.samples_done == 3200 for job in done)
    print(f"most worker processes at once: {sampler.most} ({sampler.samples} samples)")
    assert sampler.most <= MAX_WORKERS
    assert sampler.most >= 2, "the sampler saw (almost) nothing: is it looking?"
    # No shard was started twice (two launches at once once picked the same next shard).
    assert all(len(pids) == 1 for pids in sampler.pids.values()), sampler.pids
    # The jobs that waited said why, naming the setting.
    reasons = [h.reason for job in done for h in job.history if h.state == pb.JOB_STATE_QUEUED]
    assert any(
        "waiting for a worker" in reason and "SIMLAB_RUNNER_MAX_WORKERS" in reason
        for reason in reasons
    ), reasons


@pytest.mark.timeout(600)
def test_two_users_take_turns_and_each_users_jobs_start_in_order(
    alice: Client, bob: Client
) -> None:
    # Each job takes every worker: they run one at a time, in the order the runner chose.
    params = {"samples": 800, "seconds_per_block": 0.3}
    first = alice.submit("test_slow", params, shards=MAX_WORKERS)
    # The others arrive once it has started: queued together with it, alice would be at the
    # back of the line behind bob when it starts (both orders are fair; this one is tested).
    deadline = time.monotonic() + 30
    while alice.get(first.job_id).state == pb.JOB_STATE_QUEUED:
        assert time.monotonic() < deadline, "the first job never started"
        time.sleep(0.02)
    alices = [alice.submit("test_slow", params, shards=MAX_WORKERS) for _ in range(2)]
    bobs = [bob.submit("test_slow", params, shards=MAX_WORKERS) for _ in range(2)]
    assert alice.get(alices[-1].job_id).state == pb.JOB_STATE_QUEUED, "the first ended too soon"
    owners = {job.job_id: "alice" for job in [first, *alices]} | {job.job_id: "bob" for job in bobs}
    done = [alice.wait(job.job_id, progress=False) for job in [first, *alices]]
    done += [bob.wait(job.job_id, progress=False) for job in bobs]
    assert {job.state for job in done} == {pb.JOB_STATE_SUCCEEDED}
    order = [job.job_id for job in sorted(done, key=launched_at)]
    # alice's first started at once; then alice (first in line), bob, alice, bob.
    assert [owners[job_id] for job_id in order] == ["alice", "alice", "bob", "alice", "bob"]
    assert [j for j in order if owners[j] == "alice"] == [first.job_id] + [
        job.job_id for job in alices
    ]
    assert [j for j in order if owners[j] == "bob"] == [job.job_id for job in bobs]


@pytest.mark.timeout(600)
def test_a_runner_killed_while_jobs_wait_loses_nothing_and_starts_nothing_twice(
    stack: Stack, alice: Client
) -> None:
    # 8 blocks of 0.3 s per shard: the first job outlives the runner's restart.
    params = {"samples": 3200, "seconds_per_block": 0.3}
    jobs = [alice.submit("test_slow", params, shards=MAX_WORKERS, seed=i + 1) for i in range(4)]
    waiting = {job.job_id for job in jobs[1:]}
    sampler = WorkerSampler(stack, {job.job_id for job in jobs})
    try:
        for event in alice.watch(jobs[0].job_id):
            if event.job.state == pb.JOB_STATE_RUNNING:
                break
        assert [alice.get(job.job_id).state for job in jobs[1:]] == [pb.JOB_STATE_QUEUED] * 3
        stack.kill("runner")
        time.sleep(1)
        stack.start_service("runner")
        done = sampler.wait(alice, jobs)
    finally:
        sampler.stop()
    assert [job.state for job in done] == [pb.JOB_STATE_SUCCEEDED] * 4, [
        job.error.message for job in done
    ]
    assert all(job.progress.samples_done == 3200 for job in done)
    for job in done:
        states = [h.state for h in job.history]
        assert states.count(pb.JOB_STATE_LAUNCHING) == 1, job.history
        assert states.count(pb.JOB_STATE_RUNNING) == 1, job.history
    # Each shard of the jobs that waited ran in one process, started once, after the restart.
    # (The running job's workers were adopted: one that ends before its job does is
    # relaunched, as the runner cannot read a foreign process's exit code, and finds its
    # blocks done.)
    waited = {shard: pids for shard, pids in sampler.pids.items() if shard[0] in waiting}
    assert len(waited) == 3 * MAX_WORKERS, sorted(waited)
    assert all(len(pids) == 1 for pids in waited.values()), waited
    assert sampler.most <= MAX_WORKERS


def test_active_jobs_and_presets_are_bounded_per_user(carol: Client) -> None:
    params = {"samples": 100_000, "seconds_per_block": 1.0}
    jobs = [carol.submit("test_slow", params) for _ in range(MAX_ACTIVE_JOBS)]
    try:
        with pytest.raises(SimlabError) as refused:
            carol.submit("test_slow", params)
        assert refused.value.code == Code.RESOURCE_EXHAUSTED
        assert f"at most {MAX_ACTIVE_JOBS} active jobs per user" in refused.value.message
        assert "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER" in refused.value.message
        # Marked as a quota through the gateway: clients do not retry it as they would an
        # overloaded server's RESOURCE_EXHAUSTED.
        assert refused.value.quota == "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER"
    finally:
        for job in jobs:
            carol.cancel(job.job_id)
    for job in jobs:
        carol.wait(job.job_id, progress=False)
    carol.submit("pi", {"samples": 1000})

    def save(name: str) -> pb.Preset:
        preset = pb.Preset(name=name, model="pi", shards=1)
        request = pb.SavePresetRequest(preset=preset)
        return carol.stub.SavePreset(request, metadata=carol.metadata)

    for i in range(MAX_PRESETS):
        save(f"preset-{i}")
    with pytest.raises(grpc.RpcError) as error:
        save("one-too-many")
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "SIMLAB_JOBSTORE_MAX_PRESETS_PER_USER" in (error.value.details() or "")
    assert is_refusal(error.value)
