"""One shard's life: ask the job store what to do, fetch the job's code and load it, then
- a registration: inspect the code and record it as the model's next version;
- a blocks model: run this shard's remaining blocks while reporting their statistics, and, if
  this shard completes the set, write the results;
- a script model: run it as a process, forward its progress, store the files it wrote.

The job store and the script's process come in as interfaces, so this flow is tested without
either; the exit code tells Kubernetes (and the local launcher) what happened."""

from __future__ import annotations

import enum
import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simlab.bundle import Bundle, BundleError, read_archive
from simlab.common.errors import SimlabError
from simlab.core.params import validate
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model
from simlab.usercode import Inspection, LoadedCode, UserCodeError
from simlab.v1 import simulation_pb2
from simlab_worker.core import artifacts
from simlab_worker.core.engine import ModelError, Run, finalize, run_block
from simlab_worker.core.ports import (
    Failure,
    JobSpec,
    JobStore,
    JobStoreRejected,
    JobStoreUnavailable,
    Reported,
    Script,
    ScriptProcess,
    ShardFinish,
    ShardStart,
)
from simlab_worker.core.script import ScriptProgress, exit_message, output_files, summary_of

log = logging.getLogger("worker")


class Exit(enum.IntEnum):
    OK = 0
    # The model raised (or the worker failed while finishing); the job is marked FAILED.
    FAILED = 1
    # The job can never run here: code that is not the job's, invalid parameters, bad
    # configuration.
    # A Kubernetes podFailurePolicy fails the Job at once on this code instead of retrying.
    INVALID_JOB = 2
    JOBSTORE_UNAVAILABLE = 3


class InvalidJob(Exception):
    pass


@dataclass
class ShardRunner:
    jobstore: JobStore
    job_id: str
    shard: int
    # Blocks (and a script's progress) are reported at most this often (and once more at the
    # end).
    report_interval_s: float
    # What this worker runs on, recorded on the job and on a registered model version.
    runtime: str
    # A private directory this runner may fill (the code, a script's outputs); the caller
    # removes it.
    workdir: Path
    # simlab.usercode.load and simlab.usercode.inspect.
    load_code: Callable[[Bundle, Path, str], LoadedCode]
    inspect_code: Callable[[Bundle, Path, str], Inspection]
    scripts: ScriptProcess
    # Set by SIGTERM: finish the current block (or stop the script), report, exit.
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
        start = self.jobstore.start_shard(self.job_id, self.shard, self.runtime)
        if start.stop:
            self.say(f"shard {self.shard}: the job has ended or is being cancelled; nothing to do")
            return Exit.OK
        job = start.job
        try:
            if not 0 <= self.shard < job.shards:
                raise InvalidJob(f"shard {self.shard} is not one of the job's {job.shards} shards")
            bundle = self._bundle(job)
            if job.kind == "registration":
                return self._register(job, bundle)
            code = self.load_code(bundle, self.workdir / "code", job.model)
            if code.kind == "script":
                return self._run_script(job, code)
            if code.model is None:
                raise InvalidJob(f"the code of {job.model} loaded as blocks but has no model")
            return self._run_blocks(start, code.model)
        except InvalidJob as exc:
            return self._fail(Failure(str(exc), "", "worker"), Exit.INVALID_JOB)
        except UserCodeError as exc:
            return self._fail(Failure(str(exc), exc.traceback, "model"), Exit.FAILED)
        except ModelError as exc:
            cause = exc.__cause__ or exc
            return self._fail(_failure(cause, "model"), Exit.FAILED)
        except (JobStoreUnavailable, JobStoreRejected):
            raise
        except Exception as exc:
            log.exception("worker failed", extra={"job_id": self.job_id})
            return self._fail(_failure(exc, "worker"), Exit.FAILED)

    def _bundle(self, job: JobSpec) -> Bundle:
        """The job's code, as registered: the archive must hash to the job's code_sha256."""
        if not job.code_sha256:
            raise InvalidJob(f"the job records no code for {job.model} (code_sha256 is empty)")
        try:
            return read_archive(self.jobstore.get_bundle(self.job_id), job.code_sha256)
        except BundleError as exc:
            raise InvalidJob(f"the job's code bundle cannot be used: {exc}") from exc

    def _register(self, job: JobSpec, bundle: Bundle) -> Exit:
        inspection = self.inspect_code(bundle, self.workdir / "code", job.model)
        model = simulation_pb2.Model()
        model.CopyFrom(inspection.model)
        model.runtime = self.runtime
        self.jobstore.complete_registration(self.job_id, model)
        kind = simulation_pb2.ModelKind.Name(model.kind).removeprefix("MODEL_KIND_").lower()
        self.say(f"registered {job.model} ({kind}, {len(bundle.files)} file(s))")
        for warning in model.warnings:
            self.say(f"warning: {warning}")
        return Exit.OK

    def _run_blocks(self, start: ShardStart, model: Model) -> Exit:
        run = self._plan(start.job, model)
        if self._simulate(run, start):
            self.say(f"shard {self.shard}: stopped")
            return Exit.OK
        finish = self.jobstore.finish_shard(self.job_id, self.shard)
        if not finish.finalize:
            self.say(f"shard {self.shard}: done")
            return Exit.OK
        self._finalize(run, start.job.shards, finish)
        return Exit.OK

    def _plan(self, job: JobSpec, model: Model) -> Run:
        try:
            params = validate(model, job.parameters)
        except SimlabError as exc:
            raise InvalidJob(f"invalid parameters: {exc}") from exc
        if job.block_size and job.samples_total:
            return Run(model, params, job.seed, job.block_size, job.samples_total, job.precision)
        return Run.plan(model, params, job.seed, job.precision)

    def _run_script(self, job: JobSpec, code: LoadedCode) -> Exit:
        if job.shards != 1:
            raise InvalidJob(f"a script model runs in one shard, not {job.shards}")
        output_dir = self.workdir / "output"
        output_dir.mkdir(parents=True, exist_ok=True)
        script = Script(
            directory=code.directory,
            entry=code.entry.relative_to(code.directory).as_posix(),
            args=job.args,
            params_json=json.dumps(job.parameters),
            seed=job.seed,
            output_dir=output_dir,
            report_file=self.workdir / "report.jsonl",
        )
        progress = ScriptProgress(
            lambda report: self.jobstore.report_progress(self.job_id, self.shard, report),
            self.report_interval_s,
            self.clock,
            self.stop_requested,
        )
        self.say(f"running {script.entry} {' '.join(script.args)}".rstrip())
        ended = self.scripts.run(script, progress.poll)
        if ended.stopped:
            self.say(f"shard {self.shard}: stopped")
            return Exit.OK
        progress.flush()
        if ended.code != 0:
            failure = Failure(exit_message(ended.code), "", "model", log_tail=ended.log_tail)
            return self._fail(failure, Exit.FAILED)
        files = output_files(output_dir)
        summary, problem = summary_of(files)
        if problem:
            self.say(f"warning: {problem}")
        if files:
            names = self.jobstore.put_artifacts(self.job_id, files)
            log.info("artifacts stored", extra={"job_id": self.job_id, "names": names})
        self.jobstore.complete_job(self.job_id, summary)
        self.say(f"job {self.job_id} complete: {len(files)} file(s)")
        return Exit.OK

    def _simulate(self, run: Run, start: ShardStart) -> bool:
        """Runs and reports this shard's remaining blocks, up to the first one past the stop
        of a run with a precision target, once the job store says where it is (blocks run
        before that are reported all the same: it keeps them out of the result); True when
        told to stop early."""
        stop_block = start.stop_block
        blocks = [
            b
            for b in run.remaining_blocks(self.shard, start.job.shards, start.done_blocks)
            if not stop_block or b < stop_block
        ]
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
            # Blocks come in order: once one is past the stop, so are the rest.
            if stop_block and block >= stop_block:
                self.say(f"shard {self.shard}: the run stops before block {stop_block}")
                # The blocks run since the last report are below the stop: the result needs them.
                return self._report(pending).stop
            if self.stop_requested():
                self._report(pending)
                return True
            stats = run_block(run, block)
            pending.append((block, stats))
            mine = mine.merge(stats.moments[primary])
            if self.clock() - last_report >= self.report_interval_s or done == len(blocks):
                answer = self._report(pending)
                if answer.stop:
                    return True
                stop_block = answer.stop_block or stop_block
                pending = []
                last_report = self.clock()
                self.say(
                    f"shard {self.shard}: {done}/{len(blocks)} blocks, "
                    f"{primary} ≈ {mine.mean:.6g} ± {mine.stderr:.2g} (this shard)"
                )
        return False

    def _report(self, pending: list[tuple[int, Stats]]) -> Reported:
        if not pending:
            return Reported()
        answer = self.jobstore.report_blocks(self.job_id, self.shard, pending)
        log.info(
            "reported blocks",
            extra={"job_id": self.job_id, "shard": self.shard, "blocks": len(pending)},
        )
        return answer

    def _finalize(self, run: Run, shards: int, finish: ShardFinish) -> None:
        result = finalize(run, finish.blocks, finish.stop)
        files = artifacts.build(self.job_id, run, shards, result)
        names = self.jobstore.put_artifacts(self.job_id, files)
        log.info("artifacts stored", extra={"job_id": self.job_id, "names": names})
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
