"""The job and preset use cases with a fake job store: what is refused never reaches it."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.tests.fakes import FakeJobStore, fake_models, toy_version
from simlab.common.errors import Code, SimlabError
from simlab.core.precision import Precision
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.jobs import Jobs, Submission
from simlab_gateway.core.shares import ShareLinks
from simlab_gateway.core.submission import JobPlan

ALICE = Principal("alice")
# A share link to alice's job1: a read-only view of that run.
VIEWER = Principal("alice", shared_job="job1")


def submission(**overrides: object) -> Submission:
    fields: dict[str, object] = {
        "model": "toy",
        "parameters": {"scale": 2.0},
        "seed": 7,
        "shards": 2,
        "request_id": "r1",
    }
    return Submission(**{**fields, **overrides})  # type: ignore[arg-type]


def store_with_toy() -> FakeJobStore:
    """The toy model at v1 (its code since changed) and v2 (the code this gateway runs)."""
    store = FakeJobStore()
    store.add_model(toy_version(1, code_sha256="0" * 64, block_size=250))
    store.add_model(toy_version(2))
    return store


def jobs(store: FakeJobStore) -> Jobs:
    return Jobs(store, fake_models(store), 8)


def refusal(call: object) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        asyncio.run(call)  # type: ignore[arg-type]
    return caught.value


def test_a_valid_submission_is_stored_as_its_plan_for_the_caller() -> None:
    store = store_with_toy()
    answer = asyncio.run(jobs(store).submit(ALICE, submission()))
    assert answer.created and answer.job.job_id == "job1"
    [(owner, plan)] = store.plans
    assert owner == "alice"
    assert (plan.model, plan.seed, plan.shards, plan.samples_total) == ("toy", 7, 2, 1000)
    assert plan.parameters == {"samples": 1000, "scale": 2.0}
    # The latest version, run by the built-in code's own block rule.
    assert (plan.model_version, plan.code_sha256, plan.block_size) == (
        2,
        toy_version().code_sha256,
        100,
    )


def test_an_earlier_version_runs_as_it_was_recorded() -> None:
    store = store_with_toy()
    asyncio.run(jobs(store).submit(ALICE, submission(model="toy@v1", shards=1)))
    [(_, plan)] = store.plans
    assert (plan.model_version, plan.code_sha256, plan.block_size) == (1, "0" * 64, 250)


def test_a_users_version_runs_in_its_recorded_block_size_or_fewer() -> None:
    store = store_with_toy()
    mine = toy_version(1, name="mine", owner="alice", builtin=False, public=False, block_size=400)
    store.add_model(mine)
    submit = jobs(store).submit
    small = {"scale": 1.0, "samples": 300}
    asyncio.run(submit(ALICE, submission(model="mine", parameters=small, shards=1)))
    asyncio.run(submit(ALICE, submission(model="mine@v1", request_id="r2")))
    assert [(p.block_size, p.samples_total) for _, p in store.plans] == [(300, 300), (400, 1000)]
    assert refusal(submit(Principal("bob"), submission(model="mine"))).field == "model"


def test_the_latest_version_is_looked_up_once_and_again_once_a_later_one_came() -> None:
    store = store_with_toy()
    submit = jobs(store).submit
    for request_id in ("r1", "r2"):
        asyncio.run(submit(ALICE, submission(request_id=request_id)))
    assert store.calls.count("get_model") == 1
    store.add_model(toy_version(3, code_sha256="3" * 64, block_size=250))
    asyncio.run(submit(ALICE, submission(request_id="r3")))
    asyncio.run(submit(ALICE, submission(model="toy@v2", request_id="r4")))
    runs = [(plan.model_version, plan.latest) for _, plan in store.plans]
    assert runs == [(2, True), (2, True), (3, True), (2, False)]
    assert store.calls.count("get_model") == 3


def test_a_submission_an_older_version_refuses_is_checked_against_the_latest() -> None:
    store = store_with_toy()
    mine = toy_version(1, name="mine", owner="alice", builtin=False, public=False, block_size=400)
    store.add_model(mine)
    submit = jobs(store).submit
    asyncio.run(submit(ALICE, submission(model="mine", shards=1)))
    # v2 is a script: it takes arguments, which v1 (a blocks model) refuses.
    store.add_model(pb.Model(name="mine", version=2, owner="alice", kind=pb.MODEL_KIND_SCRIPT))
    script = submission(model="mine", shards=1, args=("--plot",), request_id="r2")
    asyncio.run(submit(ALICE, script))
    assert [plan.model_version for _, plan in store.plans] == [1, 2]
    # A version named explicitly is what it is.
    bad = submission(model="mine@v1", shards=1, args=("--plot",), request_id="r3")
    assert refusal(submit(ALICE, bad)).field == "args"


def test_a_script_runs_with_its_arguments() -> None:
    store = store_with_toy()
    store.add_model(pb.Model(name="fit", version=1, owner="alice", kind=pb.MODEL_KIND_SCRIPT))
    script = submission(model="fit", parameters={"x0": [1, 2]}, shards=1, args=("--plot",))
    asyncio.run(jobs(store).submit(ALICE, script))
    [(_, plan)] = store.plans
    assert (plan.model, plan.parameters, plan.args) == ("fit", {"x0": [1, 2]}, ("--plot",))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"model": "nope"}, "model"),
        ({"model": "toy@v9"}, "model"),
        ({"model": "toy@2"}, "model"),
        ({"model": "toy@v0"}, "model"),
        ({"parameters": {"scale": -1.0}}, "parameters.scale"),
        # The configured limit (8 here), not only the run's block count.
        ({"shards": 9}, "shards"),
        ({"request_id": "x" * 201}, "request_id"),
    ],
)
def test_an_invalid_submission_is_refused_before_anything_is_stored(
    overrides: dict[str, object], field: str
) -> None:
    store = store_with_toy()
    error = refusal(jobs(store).submit(ALICE, submission(**overrides)))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, field)
    assert "create_job" not in store.calls


def test_a_share_link_cannot_submit_cancel_or_save() -> None:
    store = store_with_toy()
    store.add("alice", pb.Job(job_id="job1"))
    use = jobs(store)
    preset = pb.Preset(name="p", model="toy")
    for call in (
        use.submit(VIEWER, submission()),
        use.cancel(VIEWER, "job1"),
        use.save_preset(VIEWER, preset, {"scale": 1.0}),
        ShareLinks(store).create(VIEWER, pb.CreateShareLinkRequest(job_id="job1")),
    ):
        assert refusal(call).code == Code.PERMISSION_DENIED
    assert store.calls == [] and store.presets == []


def test_a_share_link_reads_its_run_and_no_other() -> None:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1"))
    store.add("alice", pb.Job(job_id="job2"))
    use = jobs(store)
    assert asyncio.run(use.get(VIEWER, "job1")).job_id == "job1"
    assert refusal(use.get(VIEWER, "job2")).code == Code.PERMISSION_DENIED
    assert refusal(use.list(VIEWER, pb.ListJobsRequest())).code == Code.PERMISSION_DENIED


def test_another_users_job_is_not_found() -> None:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1"))
    assert refusal(jobs(store).get(Principal("bob"), "job1")).code == Code.NOT_FOUND


def test_a_preset_must_be_a_valid_submission_form() -> None:
    store = store_with_toy()
    use = jobs(store)
    good = pb.Preset(name="p", model="toy")
    assert asyncio.run(use.save_preset(ALICE, good, {"scale": 1.0})) == good
    assert refusal(use.save_preset(ALICE, good, {"scale": 0.0})).field == "parameters.scale"
    old = pb.Preset(name="o", model="toy@v1")
    assert refusal(use.save_preset(ALICE, old, {"scale": 0.0})).field == "parameters.scale"
    unknown = pb.Preset(name="q", model="nope")
    assert refusal(use.save_preset(ALICE, unknown, {})).field == "model"
    assert store.presets == [("alice", good)]


def test_a_precision_target_is_stored_with_its_defaults_filled_in() -> None:
    store = store_with_toy()
    target = pb.Precision(rel_tol=1e-3, two_stage=True)
    asyncio.run(jobs(store).submit(ALICE, submission(precision=target, no_cache=True)))
    [(_, plan)] = store.plans
    assert plan.precision == Precision(rel_tol=1e-3, confidence=0.95, min_blocks=10, two_stage=True)
    assert plan.no_cache and plan.extends == ""


@pytest.mark.parametrize(
    ("target", "field"),
    [
        (pb.Precision(), "precision.rel_tol"),
        (pb.Precision(abs_tol=-1.0), "precision.abs_tol"),
        (pb.Precision(rel_tol=0.1, confidence=1.5), "precision.confidence"),
        (pb.Precision(rel_tol=0.1, min_blocks=1), "precision.min_blocks"),
    ],
)
def test_a_precision_target_the_rule_cannot_use_is_refused_naming_its_field(
    target: pb.Precision, field: str
) -> None:
    store = store_with_toy()
    error = refusal(jobs(store).submit(ALICE, submission(precision=target)))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, field)
    assert store.plans == []


def test_a_script_takes_no_precision_target() -> None:
    store = store_with_toy()
    store.add_model(pb.Model(name="fit", version=1, owner="alice", kind=pb.MODEL_KIND_SCRIPT))
    script = submission(model="fit", shards=1, precision=pb.Precision(rel_tol=0.01))
    assert refusal(jobs(store).submit(ALICE, script)).field == "precision"
    assert store.plans == []


def finished_run(job_id: str = "job9", **fields: object) -> pb.Job:
    """Alice's finished run of toy@v1 (block size 250), as the job store records it."""
    job = pb.Job(
        job_id=job_id,
        owner="alice",
        model="toy",
        model_version=1,
        seed=1234,
        shards=3,
        kind=pb.JOB_KIND_RUN,
        state=pb.JOB_STATE_SUCCEEDED,
        block_size=250,
    )
    job.parameters.update({"samples": 1000, "scale": 2.0})
    for name, value in fields.items():
        if isinstance(value, pb.Precision):
            job.precision.CopyFrom(value)
        else:
            setattr(job, name, value)
    return job


def extend(store: FakeJobStore, caller: Principal = ALICE, **request: object) -> JobPlan:
    fields: dict[str, object] = {"job_id": "job9", **request}
    asyncio.run(jobs(store).extend(caller, pb.ExtendJobRequest(**fields)))  # type: ignore[arg-type]
    return store.plans[-1][1]


def test_an_extension_reruns_the_finished_run_with_more_samples_reusing_its_blocks() -> None:
    store = store_with_toy()
    store.add("alice", finished_run(precision=pb.Precision(rel_tol=0.01)))
    plan = extend(store, samples=4000, request_id="more")
    assert (plan.model, plan.model_version, plan.code_sha256) == ("toy", 1, "0" * 64)
    assert plan.parameters == {"samples": 4000, "scale": 2.0}
    assert (plan.seed, plan.shards, plan.block_size, plan.samples_total) == (1234, 3, 250, 4000)
    assert plan.precision == Precision(rel_tol=0.01)
    assert (plan.extends, plan.no_cache) == ("job9", False)
    assert store.plans[-1][0] == "alice"


def test_an_extension_may_tighten_the_target_and_change_the_shards() -> None:
    store = store_with_toy()
    store.add("alice", finished_run())
    plan = extend(store, precision=pb.Precision(rel_tol=1e-4), shards=2, no_cache=True)
    assert (plan.samples_total, plan.shards, plan.no_cache) == (1000, 2, True)
    assert plan.precision == Precision(rel_tol=1e-4)


def test_extending_a_cache_hit_reuses_the_blocks_of_the_run_it_was_served_from() -> None:
    store = store_with_toy()
    store.add("alice", finished_run(cached_from="job5"))
    assert extend(store, samples=2000).extends == "job5"


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (finished_run(state=pb.JOB_STATE_RUNNING), Code.FAILED_PRECONDITION),
        (finished_run(state=pb.JOB_STATE_FAILED), Code.FAILED_PRECONDITION),
        (finished_run(block_size=0), Code.FAILED_PRECONDITION),
        (finished_run(job_id="job8"), Code.NOT_FOUND),
    ],
)
def test_only_the_callers_own_succeeded_blocks_run_can_be_extended(
    source: pb.Job, code: Code
) -> None:
    store = store_with_toy()
    store.add("alice", source)
    error = refusal(jobs(store).extend(ALICE, pb.ExtendJobRequest(job_id="job9")))
    assert error.code == code
    assert store.plans == []


def test_an_extension_is_validated_as_a_submission_and_refused_to_others() -> None:
    store = store_with_toy()
    store.add("alice", finished_run())
    use = jobs(store)
    for request, field in (
        (pb.ExtendJobRequest(job_id="job9", samples=-1), "samples"),
        (pb.ExtendJobRequest(job_id="job9", shards=9), "shards"),
        (
            pb.ExtendJobRequest(job_id="job9", precision=pb.Precision(rel_tol=-1)),
            "precision.rel_tol",
        ),
    ):
        assert refusal(use.extend(ALICE, request)).field == field
    assert refusal(use.extend(Principal("bob"), pb.ExtendJobRequest(job_id="job9"))).code == (
        Code.NOT_FOUND
    )
    viewer = Principal("alice", shared_job="job9")
    assert refusal(use.extend(viewer, pb.ExtendJobRequest(job_id="job9"))).code == (
        Code.PERMISSION_DENIED
    )
    assert store.plans == []
