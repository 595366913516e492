"""A live progress bar for a running job (rich): in a terminal and in Jupyter alike."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from simlab.states import state_name
from simlab.v1 import simulation_pb2 as pb


class JobSource(Protocol):
    """What follow() needs of simlab.client.Client."""

    def get(self, job_id: str) -> pb.Job: ...

    def watch(self, job_id: str) -> Iterator[pb.JobEvent]: ...


class SampleRate:
    """Samples per second, as observed since the samples started to grow during this watch
    (time spent queued or launching does not count)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def observe(self, samples_done: int) -> None:
        now = (self.clock(), samples_done)
        if self.first is None or samples_done == self.first[1]:
            self.first = now
        self.last = now

    def per_second(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        seconds, samples = self.last[0] - self.first[0], self.last[1] - self.first[1]
        return samples / seconds if seconds > 0 and samples > 0 else None


def describe(job: pb.Job) -> str:
    p = job.progress
    text = f"{state_name(job.state):<10}"
    if p.HasField("estimate"):
        text += f" {job.primary_output or 'estimate'} = {p.estimate:.6g}"
        if p.HasField("stderr") and math.isfinite(p.stderr):
            text += f" ± {p.stderr:.2g}"
    return text


def to_target(job: pb.Job, samples_per_second: float | None = None) -> str:
    """With a precision target and no stop yet: the samples the run is estimated to need and,
    at the rate observed, the time until it has them; "" otherwise."""
    p = job.progress
    if not job.HasField("precision") or job.HasField("stop") or p.samples_to_target <= 0:
        return ""
    text = f"≈ {p.samples_to_target:,} samples to target"
    if p.samples_total and p.samples_to_target > p.samples_total:
        return f"{text} (over the budget of {p.samples_total:,})"
    remaining = p.samples_to_target - p.samples_done
    if samples_per_second and remaining > 0:
        text += f", ≈ {duration(remaining / samples_per_second)} to go"
    return text


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def status_line(job: pb.Job, rate: SampleRate) -> str:
    target = to_target(job, rate.per_second())
    return f"{describe(job)} · {target}" if target else describe(job)


def bar_total(job: pb.Job) -> int:
    """The samples the run will have drawn: the stop's once decided, else the budget."""
    stop_samples = job.stop.samples_used if job.HasField("stop") else 0
    return max(stop_samples or job.progress.samples_total, 1)


def follow(client: JobSource, job_id: str, console: Console | None = None) -> pb.Job:
    job = client.get(job_id)
    rate = SampleRate()
    with Progress(
        TextColumn("[bold]{task.fields[job_id]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("run", total=bar_total(job), job_id=job_id, status="")
        for event in client.watch(job_id):
            job = event.job
            rate.observe(job.progress.samples_done)
            bar.update(
                task,
                completed=min(job.progress.samples_done, bar_total(job)),
                total=bar_total(job),
                status=status_line(job, rate),
            )
    return job
