"""Handles for notebooks: a Study (a sweep as one object) and a Run (one job), each holding its
last known state, refreshing it on demand and showing itself as an HTML table in Jupyter."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Protocol

from simlab.progress import follow_study, study_line
from simlab.states import STUDY_ENDED, TERMINAL, points_ended, state_name, study_state_name
from simlab.tables import frame, study_columns, study_rows, write_rows
from simlab.transport.structs import struct_to_dict, whole_numbers
from simlab.v1 import simulation_pb2 as pb


class HandleClient(Protocol):
    """What the handles call on the Client that made them (a Protocol: the client module
    imports this one)."""

    def get(self, job_id: str) -> pb.Job: ...
    def cancel(self, job_id: str) -> pb.Job: ...
    def wait(self, job_id: str, progress: bool = True) -> pb.Job: ...
    def frame(self, job_id: str, name: str = "data.csv") -> Any: ...
    def run_handle(self, job_id: str) -> Run: ...
    def run_url(self, job_id: str) -> str: ...
    def get_study(self, study_id: str) -> Study: ...
    def study_points(self, study_id: str) -> Iterator[pb.StudyPoint]: ...
    def watch_study(self, study_id: str) -> Iterator[pb.StudyEvent]: ...
    def cancel_study(self, study_id: str) -> pb.Study: ...
    def compare_points(self, study_id: str, a: int, b: int) -> Comparison: ...
    def share_study(self, study_id: str, ttl_seconds: int = 0) -> pb.CreateShareLinkResponse: ...
    def study_url(self, study_id: str) -> str: ...
    def study_share_url(self, study_id: str, token: str) -> str: ...


def _html_table(title: str, rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table; values are HTML already, labels are escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
        f"<td style='text-align:left'>{value}</td></tr>"
        for label, value in rows
    )
    return f"<table><caption style='text-align:left'>{title}</caption>{body}</table>"


def _bar(done: float, total: float) -> str:
    share = done / total if total > 0 else 0.0
    return (
        f"<progress value='{done:g}' max='{max(total, 1):g}'></progress> "
        f"{html.escape(f'{share:.0%}')}"
    )


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Comparison:
    """Point b minus point a of a study (the primary output): the difference, its interval's
    half-width at `confidence`, its standard error from the paired blocks the two points share,
    and what that error would be were the points independent (`stderr_independent`)."""

    a: pb.StudyPoint
    b: pb.StudyPoint
    difference: float
    half_width: float
    confidence: float
    stderr: float
    stderr_independent: float
    correlation: float
    blocks: int

    @classmethod
    def of(cls, answer: pb.ComparePointsResponse) -> Comparison:
        return cls(
            a=answer.a,
            b=answer.b,
            difference=answer.difference,
            half_width=answer.half_width,
            confidence=answer.confidence,
            stderr=answer.stderr,
            stderr_independent=answer.stderr_independent,
            correlation=answer.correlation,
            blocks=answer.blocks,
        )

    @property
    def improvement(self) -> float | None:
        """How many times smaller the paired stderr is than the independent one."""
        return self.stderr_independent / self.stderr if self.stderr > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": _point_dict(self.a),
            "b": _point_dict(self.b),
            "difference": self.difference,
            "half_width": self.half_width,
            "confidence": self.confidence,
            "stderr": self.stderr,
            "stderr_independent": self.stderr_independent,
            "improvement": self.improvement,
            "correlation": self.correlation,
            "blocks": self.blocks,
        }

    def lines(self) -> list[str]:
        """e.g. "point 2 - point 0: 0.1234 ± 0.0045 (95 %)", then the errors, the correlation
        and each point's parameters."""
        lines = [
            f"point {self.b.index} - point {self.a.index}: {self.difference:.6g} ± "
            f"{self.half_width:.3g} ({self.confidence * 100:g} %)",
            f"stderr {self.stderr:.3g} (independent seeds: {self.stderr_independent:.3g}"
            + (f", {self.improvement:.3g} times larger)" if self.improvement else ")"),
            f"correlation {self.correlation:.4g} over {self.blocks:,} paired blocks",
        ]
        # The parameters the two points differ in (a study's points differ in swept ones).
        a, b = (whole_numbers(struct_to_dict(p.parameters)) for p in (self.a, self.b))
        differ = sorted(name for name in {**a, **b} if a.get(name) != b.get(name))
        for point, parameters in ((self.a, a), (self.b, b)):
            text = ", ".join(f"{name}={_number(parameters.get(name))}" for name in differ)
            lines.append(f"point {point.index}: {text or 'the same parameters'}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(str(self)) + "</pre>"


def _point_dict(point: pb.StudyPoint) -> dict[str, Any]:
    progress = point.progress
    return {
        "index": point.index,
        "job_id": point.job_id,
        "parameters": whole_numbers(struct_to_dict(point.parameters)),
        "estimate": progress.estimate if progress.HasField("estimate") else None,
        "stderr": progress.stderr if progress.HasField("stderr") else None,
    }


class Study:
    """A study: `info` is the pb.Study as last seen; refresh() asks again, wait() follows it
    to its end. points(), to_pandas() and results() fetch the points as they are now."""

    def __init__(self, client: HandleClient, info: pb.Study) -> None:
        self.client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.study_id

    @property
    def state(self) -> str:
        """QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED."""
        return study_state_name(self.info.state)

    @property
    def ended(self) -> bool:
        return self.info.state in STUDY_ENDED

    @property
    def url(self) -> str:
        return self.client.study_url(self.id)

    def refresh(self) -> Study:
        self.info = self.client.get_study(self.id).info
        return self

    def wait(self, progress: bool = True) -> Study:
        """Blocks until every point has ended (with one progress bar for the whole study when
        `progress`), riding out restarts of the platform's services."""
        if progress:
            self.info = follow_study(self.client, self.id)
        else:
            for event in self.client.watch_study(self.id):
                self.info = event.study
        return self

    def points(self) -> list[pb.StudyPoint]:
        """Every point, in index order."""
        return list(self.client.study_points(self.id))

    def rows(self) -> list[dict[str, Any]]:
        """One dict per point: index, each swept parameter, estimate, stderr, ci_low,
        ci_high, state, stop_reason, samples, job_id."""
        return study_rows(self.info, self.client.study_points(self.id))

    def to_pandas(self) -> Any:
        """rows() as a DataFrame (needs pandas: pip install 'simlab-client[pandas]')."""
        return frame(self.rows(), study_columns(self.info), "Study.to_pandas")

    def results(self, path: str | PathLike[str]) -> Path:
        """Writes rows() to `path`: .csv, or .parquet (needs pandas and pyarrow)."""
        return write_rows(self.rows(), study_columns(self.info), Path(path))

    def cancel(self) -> Study:
        """Cancels every point still queued or running."""
        self.info = self.client.cancel_study(self.id)
        return self

    def compare(self, a: int, b: int) -> Comparison:
        """Point b minus point a (indexes), with the paired error of the difference."""
        return self.client.compare_points(self.id, a, b)

    def run(self, index: int) -> Run:
        """The run of point `index`."""
        for point in self.client.study_points(self.id):
            if point.index == index:
                return self.client.run_handle(point.job_id)
        raise IndexError(f"study {self.id} has no point {index} (it has {self.info.points})")

    def share(self, ttl_seconds: int = 0) -> str:
        """The address of a new read-only link to the study and its points (the expiry as in
        Client.share); list or revoke it with Client.share_links / revoke_share_link."""
        created = self.client.share_study(self.id, ttl_seconds)
        return self.client.study_share_url(self.id, created.token)

    def __repr__(self) -> str:
        return f"<Study {self.id} {self.info.title!r}: {study_line(self.info)}>"

    def _repr_html_(self) -> str:
        info, counts = self.info, self.info.counts
        ended = points_ended(counts)
        rows = [
            ("state", html.escape(self.state)),
            ("model", html.escape(f"{info.spec.model} (v{info.model_version})")),
            ("swept", html.escape(", ".join(info.swept))),
            ("points", _bar(ended, info.points) + f" {ended:,} of {info.points:,} ended"),
            ("status", html.escape(study_line(info))),
            (
                "link",
                f"<a href='{html.escape(self.url)}' target='_blank'>{html.escape(self.url)}</a>",
            ),
        ]
        title = html.escape(f"study {self.id}" + (f" — {info.title}" if info.title else ""))
        return _html_table(title, rows)


class Run:
    """One run: `job` is the pb.Job as last seen; refresh() asks again, wait() follows it to
    its end; `summary` and `data` are its results."""

    def __init__(self, client: HandleClient, job: pb.Job) -> None:
        self.client = client
        self.job = job

    @property
    def id(self) -> str:
        return self.job.job_id

    @property
    def state(self) -> str:
        return state_name(self.job.state)

    @property
    def url(self) -> str:
        return self.client.run_url(self.id)

    def refresh(self) -> Run:
        self.job = self.client.get(self.id)
        return self

    def wait(self, progress: bool = True) -> Run:
        """Blocks until the run ends (a live progress bar when `progress`)."""
        self.job = self.client.wait(self.id, progress=progress)
        return self

    def cancel(self) -> Run:
        self.job = self.client.cancel(self.id)
        return self

    @property
    def summary(self) -> dict[str, Any] | None:
        """The numbers of the finished run (None until it has them)."""
        if not self.job.HasField("summary") and self.job.state not in TERMINAL:
            self.refresh()
        if not self.job.HasField("summary"):
            return None
        return dict(whole_numbers(struct_to_dict(self.job.summary)))

    @property
    def data(self) -> Any:
        """data.csv as a DataFrame (needs pandas: pip install 'simlab-client[pandas]')."""
        return self.client.frame(self.id)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.job.model} {self.state}>"

    def _repr_html_(self) -> str:
        job, progress = self.job, self.job.progress
        rows = [
            ("state", html.escape(self.state)),
            ("model", html.escape(f"{job.model}@v{job.model_version}" if job.model_version
                                  else job.model)),
            ("progress", _bar(progress.samples_done, progress.samples_total)
             + html.escape(f" {progress.samples_done:,} of {progress.samples_total:,} samples")),
        ]  # fmt: skip
        if progress.HasField("estimate"):
            estimate = f"{progress.estimate:.6g}"
            if progress.HasField("stderr") and math.isfinite(progress.stderr):
                estimate += f" ± {progress.stderr:.2g}"
            rows.append((job.primary_output or "estimate", html.escape(estimate)))
        if job.HasField("summary"):
            summary = whole_numbers(struct_to_dict(job.summary))
            rows += [(f"  {k}", html.escape(_number(v))) for k, v in summary.items()]
        if job.HasField("error") and job.error.message:
            rows.append(("error", html.escape(job.error.message)))
        rows.append(("link", f"<a href='{html.escape(self.url)}' target='_blank'>"
                             f"{html.escape(self.url)}</a>"))  # fmt: skip
        return _html_table(html.escape(f"run {self.id}"), rows)
