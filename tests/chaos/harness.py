"""The chaos suite's machinery: a fixed mix of jobs, a monitor that watches them through the
public API, the faults (kill -9 of one part, then its restart), and the checks that follow.

A fault is counted as recovered when every job that was in flight when it struck has moved
again (more samples done, or a terminal state) after the kill; the time to recover is the
time from the kill to the last of those moves."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psutil

from simlab.client import Client
from simlab.common.errors import SimlabError
from simlab.common.events import STREAM
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb

TERMINAL = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})
# The order a job's states may follow; a job skips some, never goes back, never repeats one.
STATE_ORDER = {
    pb.JOB_STATE_QUEUED: 0,
    pb.JOB_STATE_LAUNCHING: 1,
    pb.JOB_STATE_RUNNING: 2,
    pb.JOB_STATE_CANCELLING: 3,
    pb.JOB_STATE_SUCCEEDED: 4,
    pb.JOB_STATE_FAILED: 4,
    pb.JOB_STATE_CANCELLED: 4,
}
OPTION = {"spot": 100, "strike": 105, "volatility": 0.2, "maturity": 1, "rate": 0.05}


@dataclass(frozen=True)
class JobSpec:
    request_id: str
    model: str
    params: dict[str, Any]
    shards: int
    seed: int
    expected: int = pb.JOB_STATE_SUCCEEDED

    def submit(self, client: Client, suffix: str = "") -> pb.Job:
        """Submits, retrying while the platform is unavailable: the request id makes a retry
        of a submit that did reach the job store find the same job."""
        return retry(
            lambda: client.submit(
                self.model,
                self.params,
                seed=self.seed,
                shards=self.shards,
                request_id=self.request_id + suffix,
            )
        )


def job_specs(
    count: int, slow_seconds: float, work: float = 1.0, mix_seed: int = 12
) -> list[JobSpec]:
    """`count` jobs of every built-in model and shard counts 1 to 4, fixed seeds. Half are the
    test model that sleeps per block, so that jobs stay in flight for about `slow_seconds`
    while the faults strike without needing many CPUs; the others compute for real, their
    sizes scaled by `work`."""
    rng = random.Random(mix_seed)

    def size(low: int, high: int, block: int) -> int:
        """Between low and high blocks (times `work`), and at least one per shard."""
        return max(shards, round(rng.randint(low, high) * work)) * block

    specs = []
    for i in range(count):
        shards = rng.choice((1, 1, 2, 3, 4))
        kind = i % 10
        if kind < 5:
            blocks = rng.randint(20, 40)  # blocks of 100 samples
            params: dict[str, Any] = {
                "samples": 100 * blocks * shards,
                "seconds_per_block": round(slow_seconds / blocks, 3),
            }
            model = "test_slow"
        elif kind == 5:
            model, params = "pi", {"samples": size(2, 6, 1_000_000)}
        elif kind == 6:
            model = "european_option"
            params = {**OPTION, "paths": size(2, 6, 100_000)}
        elif kind == 7:
            model = "mm1_queue"
            params = {"customers": size(20, 50, 10_000), "arrival_rate": 0.8}
        elif kind == 8:
            model, params = (
                "rosenbrock_multistart",
                {"starts": size(4, 12, 8), "dimensions": 3},
            )
        else:
            model = "european_option"
            params = {**OPTION, "option_type": "put", "paths": size(1, 3, 100_000)}
        specs.append(JobSpec(f"chaos-{mix_seed}-{i}", model, params, shards, seed=1000 + i))
    return specs


def retry(call: Callable[[], Any], timeout: float = 180) -> Any:
    """`call` until it answers, while the platform is unavailable or restarting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except SimlabError as error:
            if error.code.name not in ("UNAVAILABLE", "INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED"):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def list_all(client: Client) -> list[pb.Job]:
    jobs: list[pb.Job] = []
    token = ""
    while True:
        page, token = client.list_jobs(page_size=500, page_token=token)
        jobs.extend(page)
        if not token:
            return jobs


@dataclass
class Seen:
    state: int
    samples_done: int
    at: float


class Monitor:
    """Polls every job through the gateway (ListJobs) and keeps, per job, when it was seen in
    which state with how many samples done. Polls that fail (the platform down) are skipped."""

    def __init__(self, client: Client, job_ids: Iterable[str], interval: float = 0.5) -> None:
        self.server = client.server
        self.metadata = client.metadata
        self.client = self._connect()
        self.job_ids = set(job_ids)
        self.interval = interval
        self.seen: dict[str, list[Seen]] = {job_id: [] for job_id in self.job_ids}
        self.errors = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Monitor:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join()
        self.client.close()

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                jobs = list_all(self.client)
            except SimlabError:
                # A fresh channel connects at once, where the old one would back off.
                self.errors += 1
                self.client.close()
                self.client = self._connect()
                continue
            now = time.monotonic()
            with self.lock:
                for job in jobs:
                    if job.job_id in self.seen:
                        seen = Seen(job.state, job.progress.samples_done, now)
                        self.seen[job.job_id].append(seen)

    def _connect(self) -> Client:
        client = Client(self.server)
        client.metadata = self.metadata
        return client

    def watch(self, job_id: str) -> None:
        with self.lock:
            self.seen[job_id] = []
            self.job_ids.add(job_id)

    def latest(self) -> dict[str, Seen]:
        with self.lock:
            return {job_id: seen[-1] for job_id, seen in self.seen.items() if seen}

    def in_flight(self) -> dict[str, Seen]:
        return {j: s for j, s in self.latest().items() if s.state not in TERMINAL}

    def running(self) -> dict[str, Seen]:
        return {j: s for j, s in self.latest().items() if s.state == pb.JOB_STATE_RUNNING}

    def moved_at(self, job_id: str, since: float, before: Seen) -> float | None:
        """When the job was first seen, after `since`, further on than `before`."""
        with self.lock:
            for seen in self.seen[job_id]:
                if seen.at > since and (
                    seen.state in TERMINAL or seen.samples_done > before.samples_done
                ):
                    return seen.at
        return None

    def all_terminal(self) -> bool:
        latest = self.latest()
        return len(latest) == len(self.job_ids) and all(
            s.state in TERMINAL for s in latest.values()
        )


@dataclass
class FaultResult:
    fault: str
    affected: set[str]  # the jobs in flight when it struck (or the one whose worker died)
    seconds: float | None  # None: the platform did not work again in time
    restart_seconds: float  # how long the kill and the restart took
    recovered: int = 0  # of `affected`, those that ended as expected with the right result


@dataclass
class Fault:
    """One kind of crash: `strike` kills and restarts; it returns the jobs it hit, or None
    when every job in flight counts as hit."""

    name: str
    strike: Callable[[Monitor], set[str] | None]


def probe(fault: str) -> JobSpec:
    """A small job submitted right after a fault: new work is accepted and runs."""
    return JobSpec(f"probe-after-{fault}", "pi", {"samples": 200_000}, shards=1, seed=7)


def inflict(
    client: Client, monitor: Monitor, fault: Fault, timeout: float
) -> tuple[FaultResult, JobSpec, pb.Job]:
    """Strikes while jobs run, submits a probe job, then waits until every job that was
    running when the fault struck (or the one it hit) has been seen moving on again: the
    time to recover."""
    deadline = time.monotonic() + 60
    while not monitor.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    running = monitor.running()
    struck = time.monotonic()
    hit = fault.strike(monitor)
    restarted = time.monotonic() - struck
    affected = {j: running[j] for j in (running if hit is None else hit) if j in running}
    spec = probe(fault.name.replace(" ", "-"))
    submitted = spec.submit(client)
    deadline = struck + timeout
    seconds: float | None = None
    while seconds is None and time.monotonic() < deadline:
        moved = [monitor.moved_at(j, struck, seen) for j, seen in affected.items()]
        if all(moved):
            seconds = max(filter(None, moved), default=time.monotonic()) - struck
        time.sleep(0.1)
    return FaultResult(fault.name, set(affected), seconds, restarted), spec, submitted


def fault_table(results: list[FaultResult]) -> str:
    rows = [("fault", "jobs affected", "recovered", "time to recover")]
    for r in results:
        took = f"{r.seconds:.1f} s" if r.seconds is not None else "NOT RECOVERED"
        rows.append((r.fault, str(len(r.affected)), str(r.recovered), took))
    return render(rows)


def render(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---- faults of the embedded stack ----------------------------------------------------------


# A restart waits this long for health: a loaded shared machine starts Python slowly.
START_TIMEOUT_S = 300


def service_fault(stack: Stack, name: str) -> Fault:
    def strike(_: Monitor) -> None:
        stack.kill(name)
        stack.start_service(name, timeout=START_TIMEOUT_S)

    return Fault(name, strike)


def local_worker_fault(stack: Stack) -> Fault:
    """kill -9 of a worker process of a running job (found through the runner's records):
    preferably one the running runner launched itself (it sees the exit code; one it adopted
    after a restart it does not), of a single-shard job (which moves again only once its
    worker was launched again)."""

    def workers(job_id: str) -> list[psutil.Process]:
        found = []
        for record in (stack.state_dir / "runner" / "local" / job_id).glob("shard-*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, psutil.Error):
                process = psutil.Process(int(json.loads(record.read_text())["pid"]))
                if process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
        return found

    def strike(monitor: Monitor) -> set[str]:
        runner = stack.processes["runner"].pid
        candidates = [
            (process.ppid() != runner, len(found), job_id, process.pid)
            for job_id in monitor.running()
            for found in [workers(job_id)]
            for process in found
        ]
        for *_, job_id, pid in sorted(candidates):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                return {job_id}
        raise AssertionError("no running worker process to kill")

    return Fault("worker process", strike)


def stack_faults(stack: Stack, worker: Fault | None = None) -> list[Fault]:
    """Every part of the embedded stack, in turn; `worker` kills a worker (by default one of
    the local launcher's processes)."""

    def nats(_: Monitor) -> None:
        stack.restart_nats()

    def postgres(_: Monitor) -> None:
        stack.restart_postgres()

    return [
        service_fault(stack, "gateway"),
        service_fault(stack, "jobstore"),
        service_fault(stack, "runner"),
        worker or local_worker_fault(stack),
        Fault("nats-server", nats),
        Fault("postgresql", postgres),
    ]


# ---- the checks after the faults -----------------------------------------------------------


def nats_url(stack: Stack) -> str:
    """The one place the suite connects to NATS: as the job store (which owns the job stream)
    once NATS has users, anonymously before."""
    url_for = getattr(stack, "nats_url_for", None)
    if url_for is not None:
        return str(url_for("jobstore"))
    assert stack.nats is not None
    return stack.nats.url


def stream_events(stack: Stack) -> list[pb.JobEvent]:
    """Every message of the job event stream, in stream order (duplicates included)."""
    from simlab.adapters.bus import connect_nats

    async def read() -> list[pb.JobEvent]:
        nc = await connect_nats(nats_url(stack), "chaos-check")
        try:
            js = nc.jetstream()
            state = (await js.stream_info(STREAM)).state
            # By sequence (STREAM.MSG.GET): the job store's NATS user reads its own stream's
            # messages, and creates no consumer, which only the runner and the gateway may.
            events: list[pb.JobEvent] = []
            for seq in range(state.first_seq, state.last_seq + 1):
                message = await js.get_msg(STREAM, seq)
                if message.data:
                    events.append(pb.JobEvent.FromString(message.data))
            return events
        finally:
            await nc.close()

    return asyncio.run(read())


@dataclass
class Problems:
    lines: list[str] = field(default_factory=list)
    jobs: set[str] = field(default_factory=set)
    # How many of the problems were doubled state changes, doubled artifacts.
    doubled_states: int = 0
    doubled_artifacts: int = 0

    def add(self, job_id: str, what: str) -> None:
        self.lines.append(f"{job_id}: {what}")
        self.jobs.add(job_id)

    def doubled_state(self, job_id: str, what: str) -> None:
        self.doubled_states += 1
        self.add(job_id, what)


def check_history(job: pb.Job, problems: Problems) -> None:
    """Each state entered once, in order. QUEUED may come back with a new reason (a job
    waiting for workers says why it waits), never twice with the same one."""
    changes = [(h.state, h.reason if h.state == pb.JOB_STATE_QUEUED else "") for h in job.history]
    names = [pb.JobState.Name(state) for state, _ in changes]
    if len(set(changes)) != len(changes):
        problems.doubled_state(job.job_id, f"a state entered twice: {names}")
    order = [STATE_ORDER[state] for state, _ in changes]
    if order != sorted(order):
        problems.add(job.job_id, f"states out of order: {names}")


def check_events(events: list[pb.JobEvent], job_ids: set[str], problems: Problems) -> int:
    """No event twice in the stream (same event id, or another event for the same seq), and
    no job entering a state in two events. Returns how many events were read for the jobs."""
    by_id: dict[str, int] = {}
    by_seq: dict[tuple[str, int], str] = {}
    states: dict[tuple[str, int, str], int] = {}
    count = 0
    for event in events:
        if event.job_id not in job_ids:
            continue
        count += 1
        by_id[event.event_id] = by_id.get(event.event_id, 0) + 1
        if by_id[event.event_id] == 2:
            problems.doubled_state(
                event.job_id, f"event {event.event_id} (seq {event.seq}) in the stream twice"
            )
        key = (event.job_id, event.seq)
        if by_seq.setdefault(key, event.event_id) != event.event_id:
            problems.doubled_state(event.job_id, f"two different events with seq {event.seq}")
        if event.kind == pb.EVENT_KIND_STATE:
            queued = event.job.state == pb.JOB_STATE_QUEUED and event.job.history
            reason = event.job.history[-1].reason if queued else ""
            state_key = (event.job_id, event.job.state, reason)
            if states.setdefault(state_key, event.seq) != event.seq:
                problems.doubled_state(
                    event.job_id,
                    f"entered {pb.JobState.Name(event.job.state)} twice "
                    f"(seq {states[state_key]} and {event.seq})",
                )
    return count


def check_progress(client: Client, job_id: str, problems: Problems) -> None:
    points = retry(lambda: client.progress_history(job_id))
    seqs = [p.seq for p in points]
    if len(set(seqs)) != len(seqs):
        problems.add(job_id, "a progress point recorded twice")
    done = [p.samples_done for p in points]
    if done != sorted(done):
        problems.add(job_id, f"progress went back: {done}")


def check_artifacts(client: Client, job_id: str, problems: Problems) -> None:
    names = [a.name for a in retry(lambda: client.artifacts(job_id))]
    if len(set(names)) != len(names):
        problems.doubled_artifacts += 1
        problems.add(job_id, f"an artifact listed twice: {sorted(names)}")
    if not names:
        problems.add(job_id, "no artifacts")


def summary_of(client: Client, job_id: str) -> str:
    """The summary as stored, byte for byte (summary.json's "summary", keys sorted)."""
    stored = json.loads(retry(lambda: client.read(job_id, "summary.json")))
    return json.dumps(stored["summary"], sort_keys=True)


@dataclass
class Verdict:
    jobs: int
    terminal: int
    lost: int
    doubled_jobs: int  # more than one job for one request id
    doubled_states: int
    doubled_artifacts: int
    succeeded: int
    identical: int
    events: int
    problems: list[str]
    bad_jobs: set[str]

    def table(self) -> str:
        columns = {
            "jobs": self.jobs,
            "terminal": self.terminal,
            "lost": self.lost,
            "doubled jobs": self.doubled_jobs,
            "doubled state changes": self.doubled_states,
            "doubled artifacts": self.doubled_artifacts,
            "succeeded": self.succeeded,
            "bit-identical": self.identical,
            "events read": self.events,
        }
        return render([tuple(columns), tuple(str(v) for v in columns.values())])


def verify(
    stack: Stack,
    client: Client,
    specs: list[JobSpec],
    jobs: dict[str, pb.Job],
    reference: dict[str, str],
) -> Verdict:
    """Everything the chaos run must leave true; `jobs` maps request id to the submitted job,
    `reference` request id to the summary of the same job run without faults."""
    problems = Problems()
    listed = retry(lambda: list_all(client))
    by_request: dict[str, list[pb.Job]] = {}
    for job in listed:
        by_request.setdefault(job.request_id, []).append(job)
    lost = sum(1 for spec in specs if spec.request_id not in by_request)
    duplicated = sum(
        len(by_request.get(spec.request_id, [])) - 1
        for spec in specs
        if spec.request_id in by_request
    )
    final = {job.request_id: job for job in listed}
    terminal = succeeded = identical = 0
    for spec in specs:
        job = final.get(spec.request_id)
        if job is None:
            problems.add(jobs[spec.request_id].job_id, "lost")
            continue
        if job.job_id != jobs[spec.request_id].job_id:
            problems.add(job.job_id, f"not the job submitted ({jobs[spec.request_id].job_id})")
        terminal += job.state in TERMINAL
        if job.state != spec.expected:
            problems.add(
                job.job_id,
                f"{spec.model} ended {pb.JobState.Name(job.state)}: {job.error.message}",
            )
        check_history(job, problems)
        check_progress(client, job.job_id, problems)
        if job.state == pb.JOB_STATE_SUCCEEDED:
            succeeded += 1
            check_artifacts(client, job.job_id, problems)
            summary = summary_of(client, job.job_id)
            if summary == reference.get(spec.request_id):
                identical += 1
            else:
                problems.add(
                    job.job_id,
                    f"summary {summary} differs from the run without faults "
                    f"{reference.get(spec.request_id)}",
                )
    job_ids = {job.job_id for job in jobs.values()}
    events = check_events(stream_events(stack), job_ids, problems)
    return Verdict(
        len(specs),
        terminal,
        lost,
        duplicated,
        problems.doubled_states,
        problems.doubled_artifacts,
        succeeded,
        identical,
        events,
        problems.lines,
        problems.jobs,
    )


def unpaced(spec: JobSpec) -> JobSpec:
    """The same job without the test model's sleep, which only paces it: the random draws,
    hence the result, are the same."""
    if "seconds_per_block" not in spec.params:
        return spec
    return replace(spec, params={**spec.params, "seconds_per_block": 0})


def run_undisturbed(
    client: Client, specs: list[JobSpec], suffix: str, timeout: float
) -> dict[str, str]:
    """Runs the jobs with no fault; their summaries by request id (without `suffix`)."""
    submitted = {spec.request_id: unpaced(spec).submit(client, suffix) for spec in specs}
    deadline = time.monotonic() + timeout
    summaries = {}
    for request_id, job in submitted.items():
        get: Callable[[], pb.Job] = functools.partial(client.get, job.job_id)
        while (done := retry(get)).state not in TERMINAL:
            assert time.monotonic() < deadline, f"reference run {request_id} did not end"
            time.sleep(0.5)
        if done.state == pb.JOB_STATE_SUCCEEDED:
            summaries[request_id] = summary_of(client, done.job_id)
    return summaries


def wait_terminal(monitor: Monitor, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not monitor.all_terminal() and time.monotonic() < deadline:
        time.sleep(0.5)


@dataclass
class ChaosReport:
    faults: list[FaultResult]
    verdict: Verdict
    seconds: float

    def text(self, title: str) -> str:
        return (
            f"{title} ({self.seconds:.0f} s)\n{fault_table(self.faults)}\n\n"
            f"{self.verdict.table()}\n"
            + "".join(f"  problem: {line}\n" for line in self.verdict.problems)
        )


def chaos(
    stack: Stack,
    client: Client,
    specs: list[JobSpec],
    faults: list[Fault],
    *,
    recover_timeout: float = 180,
    end_timeout: float = 900,
    log: Callable[[str], None] = print,
) -> ChaosReport:
    """Submits every job, strikes each fault in turn while they run, waits for every job to
    end, runs the same jobs again undisturbed and checks the lot."""
    started = time.monotonic()

    def say(what: str) -> None:
        log(f"[chaos {time.monotonic() - started:6.1f} s] {what}")

    jobs = {spec.request_id: spec.submit(client) for spec in specs}
    say(f"{len(jobs)} jobs submitted")
    results = []
    probes = []
    with Monitor(client, (job.job_id for job in jobs.values())) as monitor:
        for fault in faults:
            result, spec, job = inflict(client, monitor, fault, recover_timeout)
            results.append(result)
            probes.append(spec)
            jobs[spec.request_id] = job
            monitor.watch(job.job_id)
            say(
                f"{fault.name}: {len(result.affected)} jobs running, restarted in "
                f"{result.restart_seconds:.1f} s, all moving again after {result.seconds} s"
            )
        wait_terminal(monitor, end_timeout)
    say("every job ended" if monitor.all_terminal() else "some jobs did not end")
    specs = specs + probes
    reference = run_undisturbed(client, specs, "-undisturbed", end_timeout)
    say("undisturbed runs done")
    verdict = verify(stack, client, specs, jobs, reference)
    for result in results:
        result.recovered = len(result.affected - verdict.bad_jobs)
    say("checked")
    return ChaosReport(results, verdict, time.monotonic() - started)
