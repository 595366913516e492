"""The shard flow against an in-memory job store (tests/fakes.py): the job's code fetched and
checked, registrations, blocks runs (the last shard finalizes and stores the artifacts)."""

import json
from pathlib import Path

import numpy as np
import pytest

from services.worker.tests.fakes import FakeJobStore
from simlab import usercode
from simlab.bundle import Bundle, from_source
from simlab.core.params import validate
from simlab.core.precision import Precision, Stop, StopReason
from simlab.core.stats import Moments, Stats
from simlab.models import european_option, pi
from simlab.models.base import Model, Output, Param
from simlab.usercode import Inspection, LoadedCode, UserCodeError
from simlab.v1 import simulation_pb2
from simlab_worker.core.engine import Run, finalize, run_blocks
from simlab_worker.core.ports import (
    JobSpec,
    JobStoreRejected,
    JobStoreUnavailable,
    Reported,
    ShardStart,
)
from simlab_worker.core.shard import Exit, ShardRunner


def explode(params, rng, n):
    return 1 / 0


EXPLODING = Model(
    name="exploding",
    title="Exploding",
    description="Raises in simulate.",
    parameters=(Param("n", "N", "int", default=10, minimum=1, sample_count=True),),
    outputs=(Output("value", "Value"),),
    primary_output="value",
    block_size=lambda params: 5,
    simulate=explode,
    summarize=lambda params, stats: {},
)
CATALOGUE = {m.name: m for m in (european_option.MODEL, pi.MODEL, EXPLODING)}
# What the fake job store serves as the job's code; the fake loader below hands out the
# catalogue's models whatever it holds.
BUNDLE = from_source("# the model's code\n", "model.py")

# As the job store sends them: a Struct's numbers are all floats.
OPTION = {"spot": 100.0, "strike": 95.0, "paths": 450_000.0}
RUNTIME = "test (Python 3, NumPy 2, SciPy 1)"


def load_from_catalogue(bundle: Bundle, directory: Path, name: str) -> LoadedCode:
    return LoadedCode("blocks", CATALOGUE[name], directory, directory / bundle.entry)


def not_inspected(bundle: Bundle, directory: Path, name: str) -> Inspection:
    raise AssertionError("a run is not inspected")


class NoScripts:
    def run(self, script, poll):
        raise AssertionError("no script runs here")


def job(model: str = "european_option", parameters=None, shards: int = 1, seed: int = 7, **kw):
    given = OPTION if parameters is None else parameters
    return JobSpec("j-1", model, given, seed, shards, **{"code_sha256": BUNDLE.sha256, **kw})


def store_for(spec: JobSpec, **kwargs) -> FakeJobStore:
    return FakeJobStore(spec, BUNDLE, **kwargs)


def runner(store, tmp_path, shard=0, interval=0.0, **kwargs) -> ShardRunner:
    options = {
        "load_code": load_from_catalogue,
        "inspect_code": not_inspected,
        "scripts": NoScripts(),
        **kwargs,
    }
    return ShardRunner(
        jobstore=store,
        job_id="j-1",
        shard=shard,
        report_interval_s=interval,
        runtime=RUNTIME,
        workdir=tmp_path,
        say=lambda line: None,
        **options,
    )


def test_every_shard_runs_its_blocks_and_the_last_one_finalizes(tmp_path):
    store = store_for(job(shards=3))
    for shard in range(3):
        assert runner(store, tmp_path, shard).run() is Exit.OK
        assert (store.completed is None) == (shard < 2)

    params = validate(european_option.MODEL, OPTION)
    alone = Run.plan(european_option.MODEL, params, 7)
    expected = finalize(alone, list(run_blocks(alone, range(alone.blocks_total))))
    assert store.completed == expected.summary
    assert json.loads(store.artifacts["summary.json"])["summary"] == expected.summary
    assert store.artifacts["plot.png"].startswith(b"\x89PNG")
    assert store.runtimes == [RUNTIME] * 3


def test_a_relaunched_shard_skips_the_blocks_already_recorded(tmp_path):
    store = store_for(job("pi", {"samples": 6e6}, shards=3))
    store.recorded[0] = Stats(1_000_000, {"estimate": Moments.of([3.0, 3.2])})
    assert runner(store, tmp_path, shard=0).run() is Exit.OK
    assert store.reports == [[3]]


@pytest.mark.parametrize(
    ("interval", "reports"), [(0.0, [[0], [1], [2], [3], [4]]), (1e9, [[0, 1, 2, 3, 4]])]
)
def test_blocks_are_reported_at_most_every_interval(tmp_path, interval, reports):
    store = store_for(job())
    assert runner(store, tmp_path, interval=interval).run() is Exit.OK
    assert store.reports == reports


def test_a_stop_from_the_job_store_ends_the_shard_without_finishing(tmp_path):
    store = store_for(job(), stop_after_reports=2)
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.reports == [[0], [1]]
    assert store.finished == set()


def test_sigterm_finishes_the_current_block_reports_it_and_exits(tmp_path):
    store = store_for(job())
    blocks_run: list[None] = []

    def stop_requested() -> bool:
        blocks_run.append(None)
        return len(blocks_run) > 2  # SIGTERM arrives while the second block runs

    shard = runner(store, tmp_path, interval=1e9, stop_requested=stop_requested)
    assert shard.run() is Exit.OK
    assert store.reports == [[0, 1]]
    assert store.finished == set()


def test_a_job_that_has_ended_is_not_run(tmp_path):
    store = store_for(job())
    store.ended = True
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.reports == []


def test_a_model_that_raises_fails_the_job_with_its_traceback(tmp_path):
    store = store_for(job("exploding", {}))
    assert runner(store, tmp_path).run() is Exit.FAILED
    [failure] = store.failures
    assert failure.source == "model"
    assert failure.message == "ZeroDivisionError: division by zero"
    assert "in explode" in failure.traceback
    assert "return 1 / 0" in failure.traceback


def test_invalid_parameters_fail_the_job_naming_the_field(tmp_path):
    store = store_for(job(parameters={**OPTION, "paths": 0.0}))
    assert runner(store, tmp_path).run() is Exit.INVALID_JOB
    [failure] = store.failures
    assert failure.source == "worker"
    assert "parameters.paths" in failure.message


def test_a_shard_outside_the_job_is_invalid(tmp_path):
    store = store_for(job(shards=2))
    assert runner(store, tmp_path, shard=2).run() is Exit.INVALID_JOB


class Unreachable(FakeJobStore):
    def start_shard(self, job_id: str, shard: int, runtime: str) -> ShardStart:
        raise JobStoreUnavailable("nobody home")


class Refusing(FakeJobStore):
    def report_blocks(self, job_id, shard, blocks) -> Reported:
        raise JobStoreRejected("ReportBlocks: PERMISSION_DENIED: wrong job")


def test_an_unreachable_job_store_exits_3(tmp_path):
    assert runner(Unreachable(job(), BUNDLE), tmp_path).run() is Exit.JOBSTORE_UNAVAILABLE


def test_a_refusing_job_store_exits_2(tmp_path):
    assert runner(Refusing(job(), BUNDLE), tmp_path).run() is Exit.INVALID_JOB


def test_the_block_plan_recorded_on_the_job_wins(tmp_path):
    store = store_for(job("pi", {"samples": 3000.0}, block_size=1000, samples_total=3000))
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.reports == [[0], [1], [2]]
    assert store.completed is not None
    assert np.isclose(store.completed["estimate"], np.pi, atol=0.3)


def test_a_bundle_that_is_not_the_jobs_code_is_refused(tmp_path):
    store = store_for(job())
    store.archive = from_source("# other code\n", "model.py").archive()
    assert runner(store, tmp_path).run() is Exit.INVALID_JOB
    [failure] = store.failures
    assert failure.source == "worker"
    assert "bundle" in failure.message and store.completed is None


def test_a_job_that_records_no_code_is_refused(tmp_path):
    store = store_for(job(code_sha256=""))
    assert runner(store, tmp_path).run() is Exit.INVALID_JOB
    assert "code_sha256" in store.failures[0].message


def test_code_that_cannot_load_fails_the_job_as_the_models_fault(tmp_path):
    def load(bundle: Bundle, directory: Path, name: str) -> LoadedCode:
        raise UserCodeError("model.py: imports 'quantlib', which the runtime does not have")

    store = store_for(job())
    assert runner(store, tmp_path, load_code=load).run() is Exit.FAILED
    [failure] = store.failures
    assert (failure.source, failure.message) == (
        "model",
        "model.py: imports 'quantlib', which the runtime does not have",
    )


def registration() -> JobSpec:
    return job("asian", {}, kind="registration")


def test_a_registration_records_the_inspected_model_with_the_runtime(tmp_path):
    seen: list[tuple[str, Path, str]] = []

    def inspect(bundle: Bundle, directory: Path, name: str) -> Inspection:
        seen.append((bundle.sha256, directory, name))
        model = simulation_pb2.Model(
            title="Asian option",
            kind=simulation_pb2.MODEL_KIND_BLOCKS,
            warnings=["not deterministic: block 0 differs"],
        )
        return Inspection(model=model)

    store = store_for(registration())
    assert runner(store, tmp_path, inspect_code=inspect).run() is Exit.OK
    assert seen == [(BUNDLE.sha256, tmp_path / "code", "asian")]
    assert store.registered is not None
    assert (store.registered.title, store.registered.runtime) == ("Asian option", RUNTIME)
    assert list(store.registered.warnings) == ["not deterministic: block 0 differs"]
    assert store.failures == [] and store.reports == []


def test_a_registration_of_code_that_fails_inspection_fails_with_its_message(tmp_path):
    def inspect(bundle: Bundle, directory: Path, name: str) -> Inspection:
        raise UserCodeError(
            "asian.py:12: parameter 'steps': annotation list[int] is not float, int, bool or "
            "Literal",
            line=12,
            traceback="Traceback ...\n  File asian.py, line 12\n",
        )

    store = store_for(registration())
    assert runner(store, tmp_path, inspect_code=inspect).run() is Exit.FAILED
    assert store.registered is None
    [failure] = store.failures
    assert failure.source == "model"
    assert failure.message.startswith("asian.py:12: parameter 'steps'")
    assert "line 12" in failure.traceback


def test_a_registration_whose_bundle_is_not_its_code_is_refused(tmp_path):
    store = store_for(registration())
    store.archive = from_source("# other code\n", "model.py").archive()
    assert runner(store, tmp_path, inspect_code=not_inspected).run() is Exit.INVALID_JOB
    assert store.registered is None


FUNCTION_FORM = '''"""Uniform draws, scaled."""
BLOCK_SIZE = 5_000


def simulate(rng, n, *, scale: float = 1.0):
    return rng.random(n) * scale
'''


def test_registered_function_form_code_runs_in_blocks_and_stores_its_artifacts(tmp_path):
    """simlab.usercode itself: the code is loaded from the bundle the job store serves."""
    bundle = from_source(FUNCTION_FORM, "uniform.py")
    given = {"scale": 2.0, "samples": 30_000.0}
    store = FakeJobStore(JobSpec("j-1", "uniform", given, 3, 2, code_sha256=bundle.sha256), bundle)
    for shard in range(2):
        workdir = tmp_path / f"shard{shard}"
        code = runner(store, workdir, shard, load_code=usercode.load)
        assert code.run() is Exit.OK, store.failures
    assert store.reports == [[0], [2], [4], [1], [3], [5]]
    assert store.completed is not None
    assert store.completed["samples"] == 30_000
    assert abs(store.completed["value"] - 1.0) < 4 * store.completed["value_stderr"]
    assert {"summary.json", "plot.png", "data.csv", "chart.json"} <= store.artifacts.keys()


def test_registering_function_form_code_records_its_schema(tmp_path):
    bundle = from_source(FUNCTION_FORM, "uniform.py")
    spec = JobSpec("j-1", "uniform", {}, 0, 1, kind="registration", code_sha256=bundle.sha256)
    store = FakeJobStore(spec, bundle)
    assert runner(store, tmp_path, inspect_code=usercode.inspect).run() is Exit.OK
    model = store.registered
    assert model is not None, store.failures
    assert (model.kind, model.runtime, model.reproducible) == (
        simulation_pb2.MODEL_KIND_BLOCKS,
        RUNTIME,
        True,
    )
    assert [p.name for p in model.parameters] == ["scale", "samples"]


def test_registering_code_that_does_not_import_fails_naming_the_module(tmp_path):
    bundle = from_source("import quantlib_absent\n\ndef simulate(rng, n):\n    return n\n")
    spec = JobSpec("j-1", "q", {}, 0, 1, kind="registration", code_sha256=bundle.sha256)
    store = FakeJobStore(spec, bundle)
    assert runner(store, tmp_path, inspect_code=usercode.inspect).run() is Exit.FAILED
    [failure] = store.failures
    assert failure.source == "model" and "quantlib_absent" in failure.message
    assert store.registered is None


# A run of pi that meets ±1 % (95 %) after about 11 of its 50 blocks of 1,000 samples.
PI_BUDGET = {"samples": 50_000.0}
SEQUENTIAL = Precision.of(rel_tol=0.01, min_blocks=2)
TWO_STAGE = Precision.of(rel_tol=0.01, min_blocks=4, two_stage=True)


def precise(precision: Precision = SEQUENTIAL, shards: int = 1) -> FakeJobStore:
    spec = job("pi", PI_BUDGET, shards, block_size=1000, samples_total=50_000, precision=precision)
    return store_for(spec, primary_output="estimate")


def expected_result(precision: Precision, stop: Stop) -> dict:
    """The summary of the stop's blocks, computed here without any job store."""
    params = validate(pi.MODEL, PI_BUDGET)
    alone = Run(pi.MODEL, params, 7, 1000, 50_000, precision)
    blocks = list(run_blocks(alone, range(stop.first_block, stop.end_block)))
    return finalize(alone, blocks, stop).summary


def test_a_stop_learnt_mid_run_ends_the_shard_and_the_result_merges_its_blocks(tmp_path):
    store = precise()
    assert runner(store, tmp_path).run() is Exit.OK
    stop = store.stop
    assert stop is not None and stop.reason is StopReason.PRECISION_REACHED
    assert 2 < stop.end_block < 50
    # Each block is reported as it ends: none runs past the one that met the target.
    assert store.reports == [[b] for b in range(stop.end_block)]
    summary = store.completed
    assert summary == expected_result(SEQUENTIAL, stop)
    assert summary is not None
    assert summary["stop_reason"] == "precision_reached"
    assert (summary["blocks_used"], summary["samples_used"]) == (
        stop.end_block,
        stop.end_block * 1000,
    )
    assert summary["confidence"] == 0.95
    assert summary["half_width"] <= summary["target"] == 0.01 * abs(summary["estimate"])
    assert json.loads(store.artifacts["summary.json"])["blocks"] == stop.end_block
    assert json.loads(store.artifacts["chart.json"])["target"] == summary["target"]


def test_blocks_run_before_the_stop_was_known_are_discarded(tmp_path):
    eager = precise()
    assert runner(eager, tmp_path / "eager").run() is Exit.OK
    late = precise()
    # Reports once, at the end: every block ran before the job store could say.
    assert runner(late, tmp_path / "late", interval=1e9).run() is Exit.OK
    assert late.reports == [list(range(50))]
    assert late.stop == eager.stop
    assert late.completed == eager.completed


def test_a_shard_started_after_the_stop_runs_only_the_blocks_before_it(tmp_path):
    store = precise(shards=2)
    store.stop = Stop(StopReason.PRECISION_REACHED, 0, 7)
    assert runner(store, tmp_path, shard=1).run() is Exit.OK
    assert store.reports == [[1], [3], [5]]


def test_blocks_run_since_the_last_report_are_reported_when_the_stop_is_reached(tmp_path):
    # Two-stage decides the end right after the pilot, far ahead; reports every third tick
    # of the clock leave blocks unreported when the loop reaches the end: they must go in.
    store = precise(TWO_STAGE)
    ticks = iter(range(1_000_000))
    assert runner(store, tmp_path, interval=3, clock=lambda: next(ticks)).run() is Exit.OK
    assert store.stop is not None and store.stop.first_block == TWO_STAGE.min_blocks
    assert sorted(store.recorded) == list(range(store.stop.end_block))
    assert store.completed == expected_result(TWO_STAGE, store.stop)


@pytest.mark.parametrize("precision", [SEQUENTIAL, TWO_STAGE], ids=["sequential", "two-stage"])
def test_one_three_or_eight_shards_stop_at_the_same_block_with_the_same_summary(
    tmp_path, precision
):
    stops, summaries = {}, {}
    for shards in (1, 3, 8):
        store = precise(precision, shards)
        for shard in range(shards):
            # As the runner does: a shard with no block before a known stop is not launched.
            if store.stop is None or shard < store.stop.end_block:
                workdir = tmp_path / f"{shards}-{shard}"
                assert runner(store, workdir, shard).run() is Exit.OK, store.failures
        stops[shards], summaries[shards] = store.stop, store.completed
    assert stops[1] is not None and stops[1] == stops[3] == stops[8]
    assert summaries[1] is not None and summaries[1] == summaries[3] == summaries[8]
    assert summaries[1] == expected_result(precision, stops[1])
    assert summaries[1]["blocks_used"] == stops[1].end_block - stops[1].first_block
    if precision.two_stage:
        assert stops[1].first_block == precision.min_blocks
