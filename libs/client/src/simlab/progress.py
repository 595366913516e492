"""A live progress bar for a running job (rich): in a terminal and in Jupyter alike."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from simlab.states import state_name
from simlab.v1 import simulation_pb2 as pb


class JobSource(Protocol):
    """What follow() needs of simlab.client.Client."""

    def get(self, job_id: str) -> pb.Job: ...

    def watch(self, job_id: str) -> Iterator[pb.JobEvent]: ...


def describe(job: pb.Job) -> str:
    p = job.progress
    text = f"{state_name(job.state):<10}"
    if p.HasField("estimate"):
        text += f" {job.primary_output or 'estimate'} = {p.estimate:.6g}"
        if p.HasField("stderr") and math.isfinite(p.stderr):
            text += f" ± {p.stderr:.2g}"
    return text


def follow(client: JobSource, job_id: str, console: Console | None = None) -> pb.Job:
    job = client.get(job_id)
    with Progress(
        TextColumn("[bold]{task.fields[job_id]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(
            "run", total=max(job.progress.samples_total, 1), job_id=job_id, status=""
        )
        for event in client.watch(job_id):
            job = event.job
            bar.update(
                task,
                completed=job.progress.samples_done,
                total=max(job.progress.samples_total, 1),
                status=describe(job),
            )
    return job
