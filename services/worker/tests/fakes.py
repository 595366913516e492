"""An in-memory job store that keeps the real one's contract for one job: blocks recorded once
each, the last shard to finish finalizes with every block in order, the job's bundle served,
artifacts stored as one set."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simlab.bundle import Bundle
from simlab.core.stats import Stats
from simlab.v1 import simulation_pb2
from simlab_worker.core.ports import Failure, JobSpec, ProgressReport, ShardFinish, ShardStart


class FakeJobStore:
    def __init__(
        self,
        job: JobSpec,
        bundle: Bundle,
        *,
        stop_after_reports: int | None = None,
        stop_after_progress: int | None = None,
    ) -> None:
        self.job = job
        self.archive = bundle.archive()
        self.runtimes: list[str] = []
        self.recorded: dict[int, Stats] = {}
        self.reports: list[list[int]] = []
        self.finished: set[int] = set()
        self.completed: dict[str, Any] | None = None
        self.failures: list[Failure] = []
        self.artifacts: dict[str, bytes] = {}
        # Each ReportProgress with the (monotonic) time it arrived.
        self.progress: list[tuple[float, ProgressReport]] = []
        self.registered: simulation_pb2.Model | None = None
        self.stop_after_reports = stop_after_reports
        self.stop_after_progress = stop_after_progress
        self.ended = False

    def start_shard(self, job_id: str, shard: int, runtime: str) -> ShardStart:
        self.runtimes.append(runtime)
        done = frozenset(b for b in self.recorded if b % self.job.shards == shard)
        return ShardStart(self.job, done, stop=self.ended)

    def report_blocks(self, job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]) -> bool:
        self.reports.append([block for block, _ in blocks])
        self.recorded.update(blocks)
        return self.stop_after_reports is not None and len(self.reports) >= self.stop_after_reports

    def finish_shard(self, job_id: str, shard: int) -> ShardFinish:
        self.finished.add(shard)
        if len(self.finished) < self.job.shards:
            return ShardFinish(False)
        return ShardFinish(True, sorted(self.recorded.items()))

    def complete_job(self, job_id: str, summary: dict[str, Any]) -> None:
        self.completed = summary

    def fail_job(self, job_id: str, shard: int, failure: Failure) -> None:
        self.failures.append(failure)

    def get_bundle(self, job_id: str) -> bytes:
        return self.archive

    def put_artifacts(self, job_id: str, files: Mapping[str, bytes | Path]) -> list[str]:
        self.artifacts = {
            name: content if isinstance(content, bytes) else content.read_bytes()
            for name, content in files.items()
        }
        return list(files)

    def report_progress(self, job_id: str, shard: int, report: ProgressReport) -> bool:
        self.progress.append((time.monotonic(), report))
        limit = self.stop_after_progress
        return limit is not None and len(self.progress) >= limit

    def complete_registration(self, job_id: str, model: simulation_pb2.Model) -> None:
        self.registered = model
