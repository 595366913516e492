"""A study's rules without a database: its state from its points counted by state, its rate and
ETA, what a study request must be, a point's cancel, and the paired comparison of two points
checked against numpy on the same numbers."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from services.jobstore.tests.specs import SPEC
from simlab.common.errors import Code, SimlabError
from simlab.core.precision import Precision, Prefix, Stop, StopReason
from simlab.core.stats import Moments
from simlab_jobstore.core import jobs, studies
from simlab_jobstore.core.states import JobState
from simlab_jobstore.core.studies import NewStudy, PointSpec, PointTally, StudyState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
S = JobState


def tally(state: JobState, points: int, **fields: Any) -> PointTally:
    return PointTally(
        state=state,
        points=points,
        samples_done=fields.pop("samples_done", 0),
        samples_total=fields.pop("samples_total", 1000 * points),
        last_change=fields.pop("last_change", T0),
        first_created=T0,
        **fields,
    )


def progress(*tallies: PointTally, cancelled: bool = False, queue_ahead: int = 0) -> Any:
    return studies.study_progress(
        points=sum(t.points for t in tallies),
        cancelled=cancelled,
        updated_at=T0,
        tallies=tallies,
        queue_ahead=queue_ahead,
    )


@pytest.mark.parametrize(
    ("tallies", "cancelled", "state"),
    [
        ([tally(S.QUEUED, 3)], False, StudyState.QUEUED),
        # Cache hits never entered the queue: nothing has started yet.
        ([tally(S.QUEUED, 2), tally(S.SUCCEEDED, 1, reused=1)], False, StudyState.QUEUED),
        ([tally(S.QUEUED, 2), tally(S.LAUNCHING, 1)], False, StudyState.RUNNING),
        # Once a point left the queue the study runs, even between two points.
        ([tally(S.QUEUED, 2), tally(S.SUCCEEDED, 1)], False, StudyState.RUNNING),
        ([tally(S.SUCCEEDED, 2), tally(S.CANCELLING, 1)], True, StudyState.RUNNING),
        ([tally(S.SUCCEEDED, 3)], False, StudyState.SUCCEEDED),
        ([tally(S.SUCCEEDED, 2), tally(S.FAILED, 1)], False, StudyState.FAILED),
        ([tally(S.SUCCEEDED, 2), tally(S.FAILED, 1)], True, StudyState.CANCELLED),
        ([tally(S.CANCELLED, 3)], True, StudyState.CANCELLED),
        # A point cancelled on its own: not every point succeeded.
        ([tally(S.SUCCEEDED, 2), tally(S.CANCELLED, 1)], False, StudyState.CANCELLED),
    ],
)
def test_the_state_follows_the_points(
    tallies: list[PointTally], cancelled: bool, state: StudyState
) -> None:
    assert progress(*tallies, cancelled=cancelled).state is state


def test_counts_samples_and_the_end() -> None:
    running = progress(
        tally(S.QUEUED, 4),
        tally(S.LAUNCHING, 1),
        tally(S.RUNNING, 2, samples_done=700),
        tally(S.CANCELLING, 1, samples_done=100),
        tally(S.SUCCEEDED, 3, samples_done=3000, last_change=T0 + timedelta(seconds=9)),
        queue_ahead=12,
    )
    counts = running.counts
    assert (counts.queued, counts.running, counts.succeeded) == (4, 4, 3)
    assert (running.samples_done, running.samples_total) == (3800, 11_000)
    assert running.updated_at == T0 + timedelta(seconds=9) and running.ended_at is None
    assert running.queue_ahead == 12
    last = T0 + timedelta(seconds=30)
    ended = progress(tally(S.SUCCEEDED, 2), tally(S.FAILED, 1, last_change=last))
    assert ended.ended_at == last == ended.updated_at


def test_the_rate_counts_points_that_ran_and_ended_in_the_last_minute() -> None:
    busy = progress(
        tally(S.QUEUED, 90),
        tally(S.RUNNING, 6),
        tally(S.SUCCEEDED, 10, changed_recently=3),
        tally(S.FAILED, 1, changed_recently=1),
    )
    assert busy.points_per_second == pytest.approx(4 / 60)
    assert busy.eta_seconds == pytest.approx(96 / (4 / 60))
    idle = progress(tally(S.QUEUED, 5), tally(S.SUCCEEDED, 2))
    assert (idle.points_per_second, idle.eta_seconds) == (0.0, 0.0)


def new_study(count: int = 3, **fields: Any) -> NewStudy:
    return NewStudy(
        **{
            "owner": "ana",
            "request_id": "",
            "title": "sweep",
            "spec": b"",
            "model": "pi",
            "model_version": 0,
            "code_sha256": "",
            "primary_output": "estimate",
            "swept": ("x",),
            "shards": 1,
            "precision": None,
            "no_cache": False,
            "points": tuple(PointSpec({"x": i}, 7, 250, 1000) for i in range(count)),
            **fields,
        }
    )


def refusal(call: Any) -> SimlabError:
    with pytest.raises(SimlabError) as refused:
        call()
    return refused.value


def test_a_study_has_1_to_max_points_and_names_the_setting() -> None:
    new_study(10).validate(10)
    too_many = refusal(lambda: new_study(11).validate(10))
    assert too_many.code is Code.INVALID_ARGUMENT and too_many.field == "points"
    assert "SIMLAB_JOBSTORE_MAX_STUDY_POINTS" in too_many.message
    assert refusal(lambda: new_study(0).validate(10)).field == "points"
    assert refusal(lambda: new_study(owner="").validate(10)).field == "owner"


def test_a_points_own_field_is_named_with_its_index() -> None:
    study = new_study(points=(PointSpec({}, 7, 250, 1000), PointSpec({}, 7, 0, 1000)))
    studies.validate_point(study.point_job_spec(0), 0)
    error = refusal(lambda: studies.validate_point(study.point_job_spec(1), 1))
    assert error.message == "points[1].block_size: must be at least 1, got 0"
    # The study's own fields keep their names.
    error = refusal(lambda: studies.validate_point(new_study(shards=0).point_job_spec(0), 0))
    assert error.field == "shards"


def test_cancelling_a_point_ends_a_queued_one_and_stops_a_launched_one() -> None:
    queued = jobs.new_job(SPEC, "j1", 7, T0)
    at = T0 + timedelta(seconds=1)
    cancelled = jobs.cancel_point(queued, at)
    assert cancelled is not None
    assert (cancelled.state, cancelled.seq, cancelled.updated_at) == (S.CANCELLED, 2, at)
    assert cancelled.history[-1].reason == "study cancelled"
    for state in (S.LAUNCHING, S.RUNNING):
        stopping = jobs.cancel_point(dataclasses.replace(queued, state=state), at)
        assert stopping is not None and stopping.state is S.CANCELLING
    for state in (S.CANCELLING, S.SUCCEEDED, S.FAILED, S.CANCELLED):
        assert jobs.cancel_point(dataclasses.replace(queued, state=state), at) is None


# ---- comparing two points ----------------------------------------------------------------


def finished(samples: np.ndarray, **fields: Any) -> jobs.Job:
    job = jobs.new_job(SPEC, "j1", 7, T0)
    return dataclasses.replace(
        job, state=S.SUCCEEDED, moments=Moments.of(samples), blocks_done=4, **fields
    )


def block_moments(samples: np.ndarray, sizes: list[int]) -> dict[int, Moments]:
    edges = np.cumsum([0, *sizes])
    return {i: Moments.of(samples[edges[i] : edges[i + 1]]) for i in range(len(sizes))}


def test_the_paired_difference_matches_numpy_on_equal_blocks() -> None:
    rng = np.random.default_rng(1)
    common = rng.normal(10, 2, 1000)
    a_samples = common + rng.normal(0, 0.1, 1000)
    b_samples = common + 0.3 + rng.normal(0, 0.1, 1000)
    sizes = [250] * 4
    a, b = finished(a_samples), finished(b_samples)
    found = studies.compare(
        a, b, block_moments(a_samples, sizes), block_moments(b_samples, sizes), (0, 1)
    )
    a_means = a_samples.reshape(4, 250).mean(axis=1)
    b_means = b_samples.reshape(4, 250).mean(axis=1)
    d = b_means - a_means
    assert found.blocks == 4
    assert found.difference == pytest.approx(d.mean(), rel=1e-12)
    assert found.difference == pytest.approx(b_samples.mean() - a_samples.mean(), rel=1e-12)
    assert found.stderr == pytest.approx(d.std(ddof=1) / np.sqrt(4), rel=1e-12)
    assert found.correlation == pytest.approx(np.corrcoef(a_means, b_means)[0, 1], rel=1e-12)
    independent = np.hypot(
        a_samples.std(ddof=1) / np.sqrt(1000), b_samples.std(ddof=1) / np.sqrt(1000)
    )
    assert found.stderr_independent == pytest.approx(independent, rel=1e-12)
    # Common random numbers: the pairs are far more precise than independent estimates.
    assert found.stderr < independent / 5
    assert found.confidence == 0.95
    assert found.half_width == pytest.approx(1.959964 * found.stderr, rel=1e-6)


def test_a_short_last_block_weighs_by_its_samples() -> None:
    rng = np.random.default_rng(2)
    a_samples, b_samples = rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)
    sizes = [300, 300, 300, 100]
    found = studies.compare(
        finished(a_samples),
        finished(b_samples),
        block_moments(a_samples, sizes),
        block_moments(b_samples, sizes),
        (0, 1),
    )
    blocks = list(itertools.pairwise(np.cumsum([0, *sizes])))
    a_means = np.array([a_samples[start:end].mean() for start, end in blocks])
    b_means = np.array([b_samples[start:end].mean() for start, end in blocks])
    d, w = b_means - a_means, np.array(sizes, dtype=float)
    mean = np.average(d, weights=w)
    assert found.difference == pytest.approx(mean, rel=1e-12)
    assert found.difference == pytest.approx(b_samples.mean() - a_samples.mean(), rel=1e-12)
    tau2 = np.sum(w * (d - mean) ** 2) / (len(d) - 1)
    assert found.stderr == pytest.approx(np.sqrt(tau2 / w.sum()), rel=1e-12)
    cov = np.cov(a_means, b_means, aweights=w)
    assert found.correlation == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))


def test_only_the_blocks_both_used_pair_and_at_least_two_are_needed() -> None:
    a_blocks = {i: Moments(10, float(i), 9.0) for i in range(6)}
    b_blocks = {i: Moments(10, float(i) + 1 + (i % 2) / 10, 9.0) for i in range(2, 9)}
    a, b = finished(np.ones(60)), finished(np.ones(70))
    found = studies.compare(a, b, a_blocks, b_blocks, (0, 1))
    assert found.blocks == 4 and found.difference == pytest.approx(1.05)
    error = refusal(
        lambda: studies.compare(
            finished(np.ones(3)), finished(np.ones(3)), {0: Moments(3, 1.0, 0.0)}, a_blocks, (4, 7)
        )
    )
    assert error.code is Code.FAILED_PRECONDITION
    assert error.message.startswith("points 4 and 7 have 1 block(s) in common")


def test_a_precision_run_compares_the_blocks_its_result_used() -> None:
    stopped = finished(
        np.ones(10),
        precision=Precision.of(rel_tol=0.1, two_stage=True),
        stop=Stop(StopReason.PRECISION_REACHED, 10, 25),
        prefix=Prefix(25, 10, Moments(3750, 1.0, 1.0)),
    )
    assert studies.blocks_used(stopped) == range(10, 25)
    assert studies.blocks_used(finished(np.ones(10))) == range(4)


def test_only_succeeded_points_compare_and_the_point_is_named() -> None:
    running = dataclasses.replace(jobs.new_job(SPEC, "j1", 7, T0), state=S.RUNNING)
    error = refusal(lambda: studies.check_comparable(running, 5))
    assert error.code is Code.FAILED_PRECONDITION
    assert error.message == "point 5 is RUNNING: only points that SUCCEEDED compare"


def test_a_correlation_of_points_that_do_not_vary_is_nan() -> None:
    flat = {i: Moments(10, 1.0, 0.0) for i in range(3)}
    moving = {i: Moments(10, float(i), 0.0) for i in range(3)}
    found = studies.compare(finished(np.ones(3)), finished(np.ones(3)), flat, moving, (0, 1))
    assert math.isnan(found.correlation) and found.difference == pytest.approx(0.0)
