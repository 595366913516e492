"""One shard's life: ask the job store what to do, run this shard's remaining blocks while
reporting their statistics, and, if this shard completes the set, write the results.

The job store and the object store come in as interfaces, so this flow is tested without
either; the exit code tells Kubernetes (and the local launcher) what happened."""

from __future__ import annotations

import enum
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from simlab.common.errors import SimlabError
from simlab.core.params import validate
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model
from simlab_worker.core import artifacts
from simlab_worker.core.engine import ModelError, Run, finalize, run_block

log = logging.getLogger("worker")


class Exit(enum.IntEnum):
    OK = 0
    # The model raised (or the worker failed while finishing); the job is marked FAILED.
    FAILED = 1
    # The job can never run here: unknown model, invalid parameters, bad configuration.
    # A Kubernetes podFailurePolicy fails the Job at once on this code instead of retrying.
    INVALID_JOB = 2
    JOBSTORE_UNAVAILABLE = 3


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    model: str
    # As the job store holds them: JSON values, every number a float.
    parameters: dict[str, Any]
    seed: int
    shards: int
    # 0 when the job does not record them; they are then derived from the parameters.
    block_size: int = 0
    samples_total: int = 0


@dataclass(frozen=True)
class ShardStart:
    job: JobSpec
    # Blocks of this shard already recorded: a relaunched shard skips them.
    done_blocks: frozenset[int] = frozenset()
    stop: bool = False


@dataclass(frozen=True)
class ShardFinish:
    finalize: bool
    # Every block of the job, when finalize is set.
    blocks: Sequence[tuple[int, Stats]] = ()


@dataclass(frozen=True)
class Failure:
    message: str
    traceback: str
    source: str


class JobStoreUnavailable(Exception):
    """The job store kept failing (unreachable, shutting down, erring) until the retries ran
    out: another attempt of the shard may succeed."""


class JobStoreRejected(Exception):
    """The job store refused a call about this job (unknown job, token for another job, shard
    or block not the job's, ...): retrying will not help."""


class JobStore(Protocol):
    def start_shard(self, job_id: str, shard: int) -> ShardStart: ...

    def report_blocks(self, job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]) -> bool:
        """Records the blocks; True when the shard should stop (cancelled or ended)."""
        ...

    def finish_shard(self, job_id: str, shard: int) -> ShardFinish: ...

    def complete_job(self, job_id: str, summary: dict[str, Any]) -> None: ...

    def fail_job(self, job_id: str, shard: int, failure: Failure) -> None: ...


class InvalidJob(Exception):
    pass


@dataclass
class ShardRunner:
    jobstore: JobStore
    objects: artifacts.ArtifactStore
    job_id: str
    shard: int
    # Blocks are reported at most this often (and once more at the end).
    report_interval_s: float
    load_catalogue: Callable[[], Mapping[str, Model]]
    # Set by SIGTERM: finish the current block, report, exit.
    stop_requested: Callable[[], bool] = lambda: False
    clock: Callable[[], float] = time.monotonic
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def run(self) -> Exit:
        try:
            return self._run()
        except JobStoreUnavailable as exc:
            log.error("job store unavailable", extra={"job_id": self.job_id, "error": str(exc)})
            return Exit.JOBSTORE_UNAVAILABLE
        except JobStoreRejected as exc:
            log.error("job store refused", extra={"job_id": self.job_id, "error": str(exc)})
            return Exit.INVALID_JOB

    def _run(self) -> Exit:
        start = self.jobstore.start_shard(self.job_id, self.shard)
        if start.stop:
            self.say(f"shard {self.shard}: the job has ended or is being cancelled; nothing to do")
            return Exit.OK
        try:
            run = self._plan(start.job)
            if self._simulate(run, start):
                self.say(f"shard {self.shard}: stopped")
                return Exit.OK
            finish = self.jobstore.finish_shard(self.job_id, self.shard)
            if not finish.finalize:
                self.say(f"shard {self.shard}: done")
                return Exit.OK
            self._finalize(run, start.job.shards, finish.blocks)
            return Exit.OK
        except InvalidJob as exc:
            return self._fail(Failure(str(exc), "", "worker"), Exit.INVALID_JOB)
        except ModelError as exc:
            cause = exc.__cause__ or exc
            return self._fail(_failure(cause, "model"), Exit.FAILED)
        except (JobStoreUnavailable, JobStoreRejected):
            raise
        except Exception as exc:
            log.exception("worker failed", extra={"job_id": self.job_id})
            return self._fail(_failure(exc, "worker"), Exit.FAILED)

    def _plan(self, job: JobSpec) -> Run:
        try:
            catalogue = self.load_catalogue()
        except Exception as exc:
            raise InvalidJob(f"cannot load the model catalogue: {_one_line(exc)}") from exc
        model = catalogue.get(job.model)
        if model is None:
            known = ", ".join(catalogue) or "none"
            raise InvalidJob(f"unknown model {job.model!r} (this worker has: {known})")
        try:
            params = validate(model, job.parameters)
        except SimlabError as exc:
            raise InvalidJob(f"invalid parameters: {exc}") from exc
        if not 0 <= self.shard < job.shards:
            raise InvalidJob(f"shard {self.shard} is not one of the job's {job.shards} shards")
        if job.block_size and job.samples_total:
            return Run(model, params, job.seed, job.block_size, job.samples_total)
        return Run.plan(model, params, job.seed)

    def _simulate(self, run: Run, start: ShardStart) -> bool:
        """Runs and reports this shard's remaining blocks; True when told to stop early."""
        blocks = run.remaining_blocks(self.shard, start.job.shards, start.done_blocks)
        self.say(
            f"shard {self.shard}/{start.job.shards}: {len(blocks)} block(s) of "
            f"{run.block_size:,} {run.model.sample_param.unit or 'samples'} to run"
            + (f", {len(start.done_blocks)} already done" if start.done_blocks else "")
        )
        primary = run.model.primary_output
        pending: list[tuple[int, Stats]] = []
        mine = Moments()
        last_report = self.clock()
        for done, block in enumerate(blocks, start=1):
            if self.stop_requested():
                self._report(pending)
                return True
            stats = run_block(run, block)
            pending.append((block, stats))
            mine = mine.merge(stats.moments[primary])
            if self.clock() - last_report >= self.report_interval_s or done == len(blocks):
                if self._report(pending):
                    return True
                pending = []
                last_report = self.clock()
                self.say(
                    f"shard {self.shard}: {done}/{len(blocks)} blocks, "
                    f"{primary} ≈ {mine.mean:.6g} ± {mine.stderr:.2g} (this shard)"
                )
        return False

    def _report(self, pending: list[tuple[int, Stats]]) -> bool:
        if not pending:
            return False
        stop = self.jobstore.report_blocks(self.job_id, self.shard, pending)
        log.info(
            "reported blocks",
            extra={"job_id": self.job_id, "shard": self.shard, "blocks": len(pending)},
        )
        return stop

    def _finalize(self, run: Run, shards: int, blocks: Sequence[tuple[int, Stats]]) -> None:
        result = finalize(run, blocks)
        files = artifacts.build(self.job_id, run, shards, result)
        keys = artifacts.save(self.objects, self.job_id, files)
        log.info("artifacts written", extra={"job_id": self.job_id, "keys": keys})
        self.jobstore.complete_job(self.job_id, result.summary)
        shown = {k: v for k, v in result.summary.items() if not isinstance(v, list)}
        self.say(f"job {self.job_id} complete: {shown}")

    def _fail(self, failure: Failure, code: Exit) -> Exit:
        log.error(
            "job failed",
            extra={"job_id": self.job_id, "source": failure.source, "error": failure.message},
        )
        self.say(f"shard {self.shard}: failed: {failure.message}")
        try:
            self.jobstore.fail_job(self.job_id, self.shard, failure)
        except (JobStoreUnavailable, JobStoreRejected):
            # The exit code and the log still tell the launcher what happened.
            log.error("could not report the failure", extra={"job_id": self.job_id})
        return code


def _failure(exc: BaseException, source: str) -> Failure:
    return Failure(_one_line(exc), "".join(traceback.format_exception(exc)), source)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
