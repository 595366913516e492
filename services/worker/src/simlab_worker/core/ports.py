"""What the worker's core needs from the outside world (the job store, a process running a
script) and the values it exchanges with it. The adapters implement these; the tests fake them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from simlab.core.precision import Precision, Stop
from simlab.core.stats import Stats
from simlab.v1 import simulation_pb2


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
    kind: Literal["run", "registration"] = "run"
    # The registered code: its bundle's sha256 (what GetBundle must hand over) and version.
    code_sha256: str = ""
    model_version: int = 0
    # Command-line arguments of a script model.
    args: tuple[str, ...] = ()
    # The run stops at this target (the sample parameter is then its budget)...
    precision: Precision | None = None
    # ... at the blocks the job store decided on, once it has.
    stop: Stop | None = None


@dataclass(frozen=True)
class ShardStart:
    job: JobSpec
    # Blocks of this shard already recorded: a relaunched shard skips them.
    done_blocks: frozenset[int] = frozenset()
    stop: bool = False
    # Blocks at or past this one are not needed (a precision target was met); 0: all are.
    stop_block: int = 0


@dataclass(frozen=True)
class Reported:
    # Cancelled or ended: the shard stops.
    stop: bool = False
    # As ShardStart.stop_block, as the job store knows it now.
    stop_block: int = 0


@dataclass(frozen=True)
class ShardFinish:
    finalize: bool
    # The blocks the result merges, when finalize is set: every block of the job, or those
    # of its stop, [stop.first_block, stop.end_block).
    blocks: Sequence[tuple[int, Stats]] = ()
    # Where the run stopped, with a precision target.
    stop: Stop | None = None


@dataclass(frozen=True)
class Failure:
    message: str
    traceback: str
    source: str
    # The last lines of the model's output, when the worker has them (a script's).
    log_tail: str = ""


@dataclass(frozen=True)
class ProgressReport:
    """One simlab.report() of a script: work done (and expected) in its own units."""

    done: float
    total: float | None = None
    estimate: float | None = None
    stderr: float | None = None


class JobStoreUnavailable(Exception):
    """The job store kept failing (unreachable, shutting down, erring) until the retries ran
    out: another attempt of the shard may succeed."""


class JobStoreRejected(Exception):
    """The job store refused a call about this job (unknown job, token for another job, shard
    or block not the job's, ...): retrying will not help."""


class JobStore(Protocol):
    def start_shard(self, job_id: str, shard: int, runtime: str) -> ShardStart:
        """Marks the shard started on `runtime` (recorded on the job); what it has to do."""
        ...

    def report_blocks(
        self, job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]
    ) -> Reported:
        """Records the blocks; whether the shard should stop, and which blocks are needed."""
        ...

    def finish_shard(self, job_id: str, shard: int) -> ShardFinish: ...

    def complete_job(self, job_id: str, summary: dict[str, Any]) -> None: ...

    def fail_job(self, job_id: str, shard: int, failure: Failure) -> None: ...

    def get_bundle(self, job_id: str) -> bytes:
        """The archive of the job's code (its sha256 is checked by the caller)."""
        ...

    def put_artifacts(self, job_id: str, files: Mapping[str, bytes | Path]) -> list[str]:
        """Stores the job's result files as one set; the names stored."""
        ...

    def report_progress(self, job_id: str, shard: int, report: ProgressReport) -> bool:
        """Records a script's progress; True when the script should stop."""
        ...

    def complete_registration(self, job_id: str, model: simulation_pb2.Model) -> None:
        """Records the inspected code as the next version of its model and ends the job."""
        ...


@dataclass(frozen=True)
class Script:
    """`python ENTRY ARGS...` of a script model, run in the directory of its bundle."""

    directory: Path
    # Relative to directory.
    entry: str
    args: tuple[str, ...]
    # The run's parameters as JSON (SIMLAB_PARAMS), its seed (SIMLAB_SEED), where files go
    # (SIMLAB_OUTPUT_DIR) and the file simlab.report() appends to (SIMLAB_REPORT_FILE).
    params_json: str
    seed: int
    output_dir: Path
    report_file: Path


@dataclass(frozen=True)
class ScriptExit:
    # The process's exit status; negative: killed by that signal.
    code: int
    # The last lines it wrote (stdout and stderr as they came).
    log_tail: str
    # True when it was stopped (poll asked to), whatever its exit status.
    stopped: bool


class ScriptProcess(Protocol):
    def run(self, script: Script, poll: Callable[[Sequence[str]], bool]) -> ScriptExit:
        """Runs the script to its end, its output passed through. While it runs, calls
        poll(new lines of the report file) a few times a second, and once more with the last
        lines after it ends; poll returning True stops the script (terminated, then killed)."""
        ...
