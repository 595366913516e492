"""`make load`: a burst of small jobs, all submitted at once, processed to the end while the
runner's worker cap (SIMLAB_RUNNER_MAX_WORKERS) holds. A sampler counts the stack's running
worker processes the whole time; the run prints jobs/s, the most workers seen at once and the
CPU each part of the stack spent per job.

    python -m bench.load --jobs 10000 --max-workers 8

With --stop-after S, the jobs still queued or running after S seconds are cancelled (a
machine too small to process the whole burst still shows it accepted, scheduled under the cap
and drained), and the rate is what had succeeded by then.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import psutil
from google.protobuf import struct_pb2

from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack, free_port
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc

TOKEN = "load-token"
ACTIVE = [
    pb.JOB_STATE_QUEUED,
    pb.JOB_STATE_LAUNCHING,
    pb.JOB_STATE_RUNNING,
    pb.JOB_STATE_CANCELLING,
]


class WorkerSampler:
    """Counts, every `interval`, the worker processes of one stack (those talking to its job
    store), and keeps the largest count."""

    def __init__(self, jobstore_target: str, interval: float = 0.05) -> None:
        self.jobstore_target = jobstore_target
        self.interval = interval
        self.max_seen = 0
        self.samples = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WorkerSampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        died = not self.thread.is_alive()
        self.stopping.set()
        self.thread.join()
        if died:
            raise RuntimeError("the worker sampler stopped early: the maximum seen means nothing")

    def count(self) -> int:
        running = 0
        for process in psutil.process_iter(["cmdline"]):
            # None for a process that went away or is not ours to read.
            if (process.info["cmdline"] or [])[-2:] != ["-m", "simlab_worker"]:
                continue
            try:
                ours = process.environ().get("SIMLAB_WORKER_JOBSTORE") == self.jobstore_target
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            running += ours
        return running

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.max_seen = max(self.max_seen, self.count())
            self.samples += 1


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack, and by this benchmark. The workers
    are the runner's children, counted once reaped; PostgreSQL is the postmaster and its
    backends."""
    assert stack.nats is not None and stack.postgres is not None
    assert stack.postgres.pid is not None
    parts = {name: psutil.Process(process.pid) for name, process in stack.processes.items()}
    parts["nats-server"] = psutil.Process(stack.nats.process.pid)
    parts["postgresql"] = psutil.Process(stack.postgres.pid)
    # This process: the submitting clients, the polling and the worker sampler.
    parts["bench"] = psutil.Process()
    used: dict[str, float] = {}
    for name, process in parts.items():
        times = process.cpu_times()
        used[name] = times.user + times.system
        reaped = times.children_user + times.children_system
        if name == "runner":
            used["workers"] = reaped
        elif name == "postgresql":
            live = sum(sum(child.cpu_times()[:2]) for child in process.children())
            used[name] += reaped + live
    return used


@dataclass
class LoadResult:
    jobs: int
    submit_seconds: float
    seconds: float
    succeeded: int
    max_workers_seen: int
    samples: int
    cap: int
    # CPU seconds each part of the stack spent on the burst.
    cpu: dict[str, float]
    # With --stop-after: when the rest was cancelled, how many had succeeded by then, and how
    # many of the rest ended cancelled.
    stopped_at: float | None = None
    succeeded_at_stop: int = 0
    cancelled: int = 0

    @property
    def jobs_per_second(self) -> float:
        if self.stopped_at is not None:
            return self.succeeded_at_stop / self.stopped_at
        return self.jobs / self.seconds

    @property
    def all_accounted_for(self) -> bool:
        return self.succeeded + self.cancelled == self.jobs

    def text(self) -> str:
        if self.stopped_at is None:
            ended = (
                f"all ended after {self.seconds:.1f} s = {self.jobs_per_second:.2f} jobs/s; "
                f"{self.succeeded} succeeded"
            )
        else:
            ended = (
                f"{self.succeeded_at_stop} succeeded in the first {self.stopped_at:.0f} s = "
                f"{self.jobs_per_second:.2f} jobs/s; the rest cancelled, all ended after "
                f"{self.seconds:.1f} s: {self.succeeded} succeeded, {self.cancelled} cancelled"
            )
        return (
            f"load: {self.jobs} jobs submitted in {self.submit_seconds:.1f} s, {ended}\n"
            f"worker cap (SIMLAB_RUNNER_MAX_WORKERS) {self.cap}: at most "
            f"{self.max_workers_seen} worker processes running at once "
            f"({self.samples} samples) -> {'held' if self.cap_held else 'EXCEEDED'}\n"
            "CPU seconds per succeeded job: "
            + ", ".join(
                f"{name} {seconds / max(self.succeeded, 1):.2f}"
                for name, seconds in sorted(self.cpu.items(), key=lambda item: -item[1])
            )
        )

    @property
    def cap_held(self) -> bool:
        return self.max_workers_seen <= self.cap


async def _submit_all(target: str, jobs: int, clients: int) -> list[str]:
    params = struct_pb2.Struct()
    params.update({"samples": 10_000})
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    ids: list[str] = []

    async def client(count: int) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = simulation_pb2_grpc.SimulationServiceStub(channel)
            for _ in range(count):
                request = pb.SubmitJobRequest(
                    model="pi", parameters=params, seed=len(ids) + 1, request_id=uuid.uuid4().hex
                )
                reply = await stub.SubmitJob(request, metadata=metadata, timeout=60)
                ids.append(reply.job.job_id)

    share, extra = divmod(jobs, clients)
    await asyncio.gather(*(client(share + (i < extra)) for i in range(clients)))
    return ids


def jobs_in(client: Client, *states: pb.JobState) -> list[pb.Job]:
    """Every job in one of `states`, page by page."""
    jobs: list[pb.Job] = []
    token = ""
    while True:
        page, token = client.list_jobs(states=list(states), page_size=500, page_token=token)
        jobs += page
        if not token:
            return jobs


def count_in(client: Client, *states: pb.JobState) -> int:
    return len(jobs_in(client, *states))


def count_active(client: Client) -> int:
    return count_in(client, *ACTIVE)


def count_succeeded(client: Client) -> int:
    return count_in(client, pb.JOB_STATE_SUCCEEDED)


def cancel_active(client: Client) -> None:
    """Cancels every job still queued or running (all listed first: cancelling moves them
    between pages), several at a time."""
    ids = [job.job_id for job in jobs_in(client, *ACTIVE)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(functools.partial(cancel_unless_ended, client), ids))


def cancel_unless_ended(client: Client, job_id: str) -> None:
    try:
        client.cancel(job_id)
    except SimlabError as error:
        # It ended between the listing and the cancel.
        if error.code is not Code.FAILED_PRECONDITION:
            raise


def burst(
    stack: Stack,
    jobs: int,
    cap: int,
    clients: int = 16,
    timeout: float = 7200,
    stop_after: float | None = None,
) -> LoadResult:
    """Submits `jobs` small pi jobs at once on `stack` (started with the cap `cap` and the
    gateway token TOKEN) and waits until every one ended, sampling the workers meanwhile;
    with `stop_after`, cancels what is left after that many seconds."""
    with WorkerSampler(stack.jobstore_target) as sampler, Client(stack.url, TOKEN) as client:
        before = cpu_seconds(stack)
        started = time.monotonic()
        asyncio.run(_submit_all(stack.url.removeprefix("http://"), jobs, clients))
        submitted = time.monotonic() - started
        deadline = started + timeout
        stopped_at, succeeded_at_stop = None, 0
        while count_active(client) and time.monotonic() < deadline:
            elapsed = time.monotonic() - started
            if stop_after is not None and stopped_at is None and elapsed > stop_after:
                stopped_at, succeeded_at_stop = elapsed, count_succeeded(client)
                cancel_active(client)
            time.sleep(1)
        seconds = time.monotonic() - started
        succeeded = count_succeeded(client)
        cancelled = count_in(client, pb.JOB_STATE_CANCELLED)
        after = cpu_seconds(stack)
    cpu = {name: after[name] - before.get(name, 0.0) for name in after}
    return LoadResult(
        jobs,
        submitted,
        seconds,
        succeeded,
        sampler.max_seen,
        sampler.samples,
        cap,
        cpu,
        stopped_at,
        succeeded_at_stop,
        cancelled,
    )


def load_stack(state: Path, cap: int) -> Stack:
    return Stack(
        state / "state",
        free_port(),
        log_dir=state / "logs",
        extra_env={
            "SIMLAB_GATEWAY_TOKENS": f"{TOKEN}=load",
            "SIMLAB_RUNNER_MAX_WORKERS": str(cap),
            "SIMLAB_RUNNER_MAX_WORKERS_PER_USER": str(cap),
            # The burst is one user's: let all of it in.
            "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER": "1000000",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs in the burst")
    parser.add_argument("--max-workers", type=int, default=8, help="SIMLAB_RUNNER_MAX_WORKERS")
    parser.add_argument("--clients", type=int, default=16, help="concurrent submitting clients")
    parser.add_argument(
        "--stop-after", type=float, help="seconds after which what is left is cancelled"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simlab-load-") as tmp:
        stack = load_stack(Path(tmp), args.max_workers)
        try:
            stack.start(timeout=300)
            result = burst(
                stack, args.jobs, args.max_workers, args.clients, stop_after=args.stop_after
            )
        finally:
            stack.stop()
    print(result.text())
    if not result.all_accounted_for or not result.cap_held:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
