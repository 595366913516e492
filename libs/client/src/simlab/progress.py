"""Live progress bars (rich), in a terminal and in Jupyter alike: one for a running job, one for
a whole study (however many points it has)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from simlab.states import TERMINAL, points_ended, state_name, study_state_name
from simlab.v1 import simulation_pb2 as pb


class JobSource(Protocol):
    """What follow() needs of simlab.client.Client."""

    def get(self, job_id: str) -> pb.Job: ...

    def watch(self, job_id: str) -> Iterator[pb.JobEvent]: ...


class StudySource(Protocol):
    """What follow_study() needs of simlab.client.Client."""

    def watch_study(self, study_id: str) -> Iterator[pb.StudyEvent]: ...


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
    with Progress(*_bar_columns(), console=console or Console(stderr=True), transient=False) as bar:
        task = bar.add_task("run", total=bar_total(job), name=job_id, status="")
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


def _bar_columns() -> tuple[
    TextColumn, BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
]:
    return (
        TextColumn("[bold]{task.fields[name]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )


class StudyProgress:
    """How far a study's points are, from WatchStudy's events: each point as last seen (the
    highest seq of its index wins, so the snapshot of a reconnected watch changes nothing
    already seen), and `done`, the points' work summed: 1 for an ended point, else the share of
    its samples drawn."""

    def __init__(self) -> None:
        self.points: dict[int, tuple[int, float]] = {}
        self.done = 0.0

    def merge(self, points: Iterable[pb.StudyPoint]) -> None:
        for point in points:
            seen = self.points.get(point.index)
            if seen is not None and seen[0] >= point.seq:
                continue
            share = point_share(point)
            self.done += share - (seen[1] if seen else 0.0)
            self.points[point.index] = (point.seq, share)


def point_share(point: pb.StudyPoint) -> float:
    """1 for an ended point, else the share drawn of the samples it will have drawn."""
    if point.state in TERMINAL:
        return 1.0
    p = point.progress
    total = (
        point.stop.samples_used
        if point.HasField("stop") and point.stop.samples_used
        else (p.samples_total)
    )
    return min(p.samples_done / total, 1.0) if total > 0 else 0.0


def study_line(study: pb.Study) -> str:
    """e.g. "RUNNING · 20 of 27 ended (1 failed) · 2 running · 4.5 points/s · ≈ 2 s left"."""
    counts = study.counts
    ended = points_ended(counts)
    bad = [f"{n:,} {what}" for n, what in ((counts.failed, "failed"),
                                           (counts.cancelled, "cancelled")) if n]  # fmt: skip
    parts = [
        study_state_name(study.state),
        f"{ended:,} of {study.points:,} ended" + (f" ({', '.join(bad)})" if bad else ""),
    ]
    if counts.running:
        parts.append(f"{counts.running:,} running")
    if study.points_per_second > 0:
        parts.append(f"{study.points_per_second:.3g} points/s")
    if study.eta_seconds > 0 and ended < study.points:
        parts.append(f"≈ {duration(study.eta_seconds)} left")
    if counts.queued and study.queue_ahead:
        parts.append(f"{study.queue_ahead:,} runs queued ahead")
    return " · ".join(parts)


def follow_study(client: StudySource, study_id: str, console: Console | None = None) -> pb.Study:
    """One progress bar for the whole study until it ends; returns the study as it ended."""
    study = pb.Study(study_id=study_id)
    progress = StudyProgress()
    with Progress(*_bar_columns(), console=console or Console(stderr=True), transient=False) as bar:
        task = bar.add_task("study", total=None, name=study_id, status="")
        for event in client.watch_study(study_id):
            study = event.study
            progress.merge(event.points)
            total = max(study.points, 1)
            bar.update(
                task, completed=min(progress.done, total), total=total, status=study_line(study)
            )
    return study
