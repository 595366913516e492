"""The shard flow against an in-memory job store that keeps the real one's contract: blocks
recorded once each, the last shard to finish finalizes with every block in order."""

import json
from collections.abc import Sequence

import numpy as np
import pytest

from simlab.adapters.local_store import LocalDirectoryStore
from simlab.core.params import validate
from simlab.core.stats import Moments, Stats
from simlab.models import european_option, pi
from simlab.models.base import Model, Output, Param
from simlab_worker.core.engine import Run, finalize, run_blocks
from simlab_worker.core.shard import (
    Exit,
    Failure,
    JobSpec,
    JobStoreRejected,
    JobStoreUnavailable,
    ShardFinish,
    ShardRunner,
    ShardStart,
)


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

# As the job store sends them: a Struct's numbers are all floats.
OPTION = {"spot": 100.0, "strike": 95.0, "paths": 450_000.0}


class FakeJobStore:
    def __init__(self, job: JobSpec, stop_after_reports: int | None = None) -> None:
        self.job = job
        self.recorded: dict[int, Stats] = {}
        self.reports: list[list[int]] = []
        self.finished: set[int] = set()
        self.completed: dict | None = None
        self.failures: list[Failure] = []
        self.stop_after_reports = stop_after_reports
        self.ended = False

    def start_shard(self, job_id: str, shard: int) -> ShardStart:
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

    def complete_job(self, job_id: str, summary: dict) -> None:
        self.completed = summary

    def fail_job(self, job_id: str, shard: int, failure: Failure) -> None:
        self.failures.append(failure)


def job(model: str = "european_option", parameters=None, shards: int = 1, seed: int = 7):
    return JobSpec("j-1", model, OPTION if parameters is None else parameters, seed, shards)


def runner(store, tmp_path, shard=0, interval=0.0, **kwargs) -> ShardRunner:
    return ShardRunner(
        jobstore=store,
        objects=LocalDirectoryStore(tmp_path),
        job_id="j-1",
        shard=shard,
        report_interval_s=interval,
        load_catalogue=lambda: CATALOGUE,
        say=lambda line: None,
        **kwargs,
    )


def test_every_shard_runs_its_blocks_and_the_last_one_finalizes(tmp_path):
    store = FakeJobStore(job(shards=3))
    for shard in range(3):
        assert runner(store, tmp_path, shard).run() is Exit.OK
        assert (store.completed is None) == (shard < 2)

    params = validate(european_option.MODEL, OPTION)
    alone = Run.plan(european_option.MODEL, params, 7)
    expected = finalize(alone, list(run_blocks(alone, range(alone.blocks_total))))
    assert store.completed == expected.summary
    objects = LocalDirectoryStore(tmp_path)
    with objects.open("jobs/j-1/summary.json") as f:
        assert json.load(f)["summary"] == expected.summary
    assert "jobs/j-1/plot.png" in {o.key for o in objects.list("jobs/j-1")}


def test_a_relaunched_shard_skips_the_blocks_already_recorded(tmp_path):
    store = FakeJobStore(job("pi", {"samples": 6e6}, shards=3))
    store.recorded[0] = Stats(1_000_000, {"estimate": Moments.of([3.0, 3.2])})
    assert runner(store, tmp_path, shard=0).run() is Exit.OK
    assert store.reports == [[3]]


@pytest.mark.parametrize(
    ("interval", "reports"), [(0.0, [[0], [1], [2], [3], [4]]), (1e9, [[0, 1, 2, 3, 4]])]
)
def test_blocks_are_reported_at_most_every_interval(tmp_path, interval, reports):
    store = FakeJobStore(job())
    assert runner(store, tmp_path, interval=interval).run() is Exit.OK
    assert store.reports == reports


def test_a_stop_from_the_job_store_ends_the_shard_without_finishing(tmp_path):
    store = FakeJobStore(job(), stop_after_reports=2)
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.reports == [[0], [1]]
    assert store.finished == set()


def test_sigterm_finishes_the_current_block_reports_it_and_exits(tmp_path):
    store = FakeJobStore(job())
    blocks_run: list[None] = []

    def stop_requested() -> bool:
        blocks_run.append(None)
        return len(blocks_run) > 2  # SIGTERM arrives while the second block runs

    shard = runner(store, tmp_path, interval=1e9, stop_requested=stop_requested)
    assert shard.run() is Exit.OK
    assert store.reports == [[0, 1]]
    assert store.finished == set()


def test_a_job_that_has_ended_is_not_run(tmp_path):
    store = FakeJobStore(job())
    store.ended = True
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.reports == []


def test_a_model_that_raises_fails_the_job_with_its_traceback(tmp_path):
    store = FakeJobStore(job("exploding", {}))
    assert runner(store, tmp_path).run() is Exit.FAILED
    [failure] = store.failures
    assert failure.source == "model"
    assert failure.message == "ZeroDivisionError: division by zero"
    assert "in explode" in failure.traceback
    assert "return 1 / 0" in failure.traceback


def test_an_unknown_model_fails_the_job_for_good(tmp_path):
    store = FakeJobStore(job("no_such_model", {}))
    assert runner(store, tmp_path).run() is Exit.INVALID_JOB
    [failure] = store.failures
    assert failure.source == "worker"
    assert "no_such_model" in failure.message


def test_invalid_parameters_fail_the_job_naming_the_field(tmp_path):
    store = FakeJobStore(job(parameters={**OPTION, "paths": 0.0}))
    assert runner(store, tmp_path).run() is Exit.INVALID_JOB
    [failure] = store.failures
    assert failure.source == "worker"
    assert "parameters.paths" in failure.message


def test_a_shard_outside_the_job_is_invalid(tmp_path):
    store = FakeJobStore(job(shards=2))
    assert runner(store, tmp_path, shard=2).run() is Exit.INVALID_JOB


class Unreachable(FakeJobStore):
    def start_shard(self, job_id: str, shard: int) -> ShardStart:
        raise JobStoreUnavailable("nobody home")


class Refusing(FakeJobStore):
    def report_blocks(self, job_id, shard, blocks) -> bool:
        raise JobStoreRejected("ReportBlocks: PERMISSION_DENIED: wrong job")


def test_an_unreachable_job_store_exits_3(tmp_path):
    assert runner(Unreachable(job()), tmp_path).run() is Exit.JOBSTORE_UNAVAILABLE


def test_a_refusing_job_store_exits_2(tmp_path):
    assert runner(Refusing(job()), tmp_path).run() is Exit.INVALID_JOB


def test_the_catalogue_failing_to_load_fails_the_job(tmp_path):
    def load():
        raise ImportError("analyst_models")

    store = FakeJobStore(job())
    shard = runner(store, tmp_path)
    shard.load_catalogue = load
    assert shard.run() is Exit.INVALID_JOB
    assert "analyst_models" in store.failures[0].message


def test_the_block_plan_recorded_on_the_job_wins(tmp_path):
    store = FakeJobStore(JobSpec("j-1", "pi", {"samples": 3000.0}, 7, 1, 1000, 3000))
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.reports == [[0], [1], [2]]
    assert store.completed is not None
    assert np.isclose(store.completed["estimate"], np.pi, atol=0.3)
