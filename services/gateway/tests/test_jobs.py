"""The job and preset use cases with a fake job store: what is refused never reaches it."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.tests.fakes import CATALOGUE, FakeJobStore
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.jobs import Jobs, Submission
from simlab_gateway.core.shares import ShareLinks

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


def refusal(call: object) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        asyncio.run(call)  # type: ignore[arg-type]
    return caught.value


def test_a_valid_submission_is_stored_as_its_plan_for_the_caller() -> None:
    store = FakeJobStore()
    answer = asyncio.run(Jobs(store, CATALOGUE, 8).submit(ALICE, submission()))
    assert answer.created and answer.job.job_id == "job1"
    [(owner, plan)] = store.plans
    assert owner == "alice"
    assert (plan.model, plan.seed, plan.shards, plan.samples_total) == ("toy", 7, 2, 1000)
    assert plan.parameters == {"samples": 1000, "scale": 2.0}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"model": "nope"}, "model"),
        ({"parameters": {"scale": -1.0}}, "parameters.scale"),
        # The configured limit (8 here), not only the run's block count.
        ({"shards": 9}, "shards"),
        ({"request_id": "x" * 201}, "request_id"),
    ],
)
def test_an_invalid_submission_is_refused_before_anything_is_stored(
    overrides: dict[str, object], field: str
) -> None:
    store = FakeJobStore()
    error = refusal(Jobs(store, CATALOGUE, 8).submit(ALICE, submission(**overrides)))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, field)
    assert store.calls == []


def test_a_share_link_cannot_submit_cancel_or_save() -> None:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1"))
    jobs = Jobs(store, CATALOGUE, 8)
    preset = pb.Preset(name="p", model="toy")
    for call in (
        jobs.submit(VIEWER, submission()),
        jobs.cancel(VIEWER, "job1"),
        jobs.save_preset(VIEWER, preset, {"scale": 1.0}),
        ShareLinks(store).create(VIEWER, "job1", 60),
    ):
        assert refusal(call).code == Code.PERMISSION_DENIED
    assert store.calls == [] and store.presets == []


def test_a_share_link_reads_its_run_and_no_other() -> None:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1"))
    store.add("alice", pb.Job(job_id="job2"))
    jobs = Jobs(store, CATALOGUE, 8)
    assert asyncio.run(jobs.get(VIEWER, "job1")).job_id == "job1"
    assert [m.name for m in jobs.list_models(VIEWER)] == ["toy"]
    assert refusal(jobs.get(VIEWER, "job2")).code == Code.PERMISSION_DENIED
    assert refusal(jobs.list(VIEWER, pb.ListJobsRequest())).code == Code.PERMISSION_DENIED


def test_another_users_job_is_not_found() -> None:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1"))
    assert refusal(Jobs(store, CATALOGUE, 8).get(Principal("bob"), "job1")).code == Code.NOT_FOUND


def test_a_preset_must_be_a_valid_submission_form() -> None:
    store = FakeJobStore()
    jobs = Jobs(store, CATALOGUE, 8)
    good = pb.Preset(name="p", model="toy")
    assert asyncio.run(jobs.save_preset(ALICE, good, {"scale": 1.0})) == good
    assert refusal(jobs.save_preset(ALICE, good, {"scale": 0.0})).field == "parameters.scale"
    unknown = pb.Preset(name="q", model="nope")
    assert refusal(jobs.save_preset(ALICE, unknown, {})).field == "model"
    assert store.presets == [("alice", good)]
