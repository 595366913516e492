"""An in-memory job store that keeps the real one's contract for one job: blocks recorded once
each, the last shard to finish finalizes with every block in order, the job's bundle served,
artifacts stored as one set. With a precision target it decides the stop as the real one does
(simlab.core.precision.advance over the in-order prefix of the blocks recorded), tells the
shards where it is, counts the shards with no needed block as done, and finalizes with the
stop's blocks."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simlab.bundle import Bundle
from simlab.core.blocks import blocks_total
from simlab.core.precision import Prefix, Stop, advance
from simlab.core.stats import Stats
from simlab.v1 import simulation_pb2
from simlab_worker.core.ports import (
    Failure,
    JobSpec,
    JobStoreRejected,
    ProgressReport,
    Reported,
    ShardFinish,
    ShardStart,
)


class FakeJobStore:
    def __init__(
        self,
        job: JobSpec,
        bundle: Bundle,
        *,
        stop_after_reports: int | None = None,
        stop_after_progress: int | None = None,
        primary_output: str = "",
    ) -> None:
        self.job = job
        # With a precision target (the job then records its block plan).
        self.primary_output = primary_output
        self.prefix = Prefix()
        self.stop: Stop | None = None
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
        return ShardStart(self.job, done, stop=self.ended, stop_block=self.stop_block)

    def report_blocks(
        self, job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]
    ) -> Reported:
        self.reports.append([block for block, _ in blocks])
        self.recorded.update(blocks)
        self._advance()
        limit = self.stop_after_reports
        return Reported(limit is not None and len(self.reports) >= limit, self.stop_block)

    def finish_shard(self, job_id: str, shard: int) -> ShardFinish:
        # As the job store: a shard is done once every one of its blocks the run needs is in.
        total = (
            blocks_total(self.job.samples_total, self.job.block_size) if self.job.block_size else 0
        )
        needed = range(shard, self.stop.end_block if self.stop else total, self.job.shards)
        if missing := [b for b in needed if b not in self.recorded]:
            raise JobStoreRejected(f"FinishShard: shard {shard} has not reported {missing[:5]}")
        self.finished.add(shard)
        end = self.stop.end_block if self.stop else self.job.shards
        if not set(range(min(end, self.job.shards))) <= self.finished:
            return ShardFinish(False)
        first = self.stop.first_block if self.stop else 0
        end = self.stop.end_block if self.stop else len(self.recorded)
        return ShardFinish(True, [(b, self.recorded[b]) for b in range(first, end)], self.stop)

    @property
    def stop_block(self) -> int:
        return self.stop.end_block if self.stop else 0

    def _advance(self) -> None:
        """The prefix grows over the blocks recorded in order, until the stop is decided."""
        precision = self.job.precision
        if precision is None:
            return
        while self.prefix.blocks in self.recorded and (
            self.stop is None or self.prefix.blocks < self.stop.end_block
        ):
            block = self.prefix.blocks
            self.prefix, decided = advance(
                precision,
                self.prefix,
                self.stop,
                block,
                self.recorded[block].moments[self.primary_output],
                blocks_total=blocks_total(self.job.samples_total, self.job.block_size),
                block_size=self.job.block_size,
            )
            self.stop = self.stop or decided

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
