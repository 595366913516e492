"""The gateway's calls against a running job store: create, get, list with paging and filters,
owner isolation, idempotent submission, cancel, presets, health."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.jobstore.tests.conftest import Client, InProcessJobStore, status_of
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.integration


def list_jobs(client: Client, owner: str = "ana", **query: Any) -> pb.ListJobsResponse:
    return client.call(
        "ListJobs", store_pb.ListJobsRequest(owner=owner, query=pb.ListJobsRequest(**query))
    )


def test_a_created_job_is_queued_and_reads_back(client: Client) -> None:
    created = client.create_response(parameters={"samples": 1000, "label": "x"}, seed=42)
    assert created.created
    job = created.job
    assert len(job.job_id) == 16
    assert (job.state, job.seq, job.seed, job.shards) == (pb.JOB_STATE_QUEUED, 1, 42, 2)
    assert (job.progress.blocks_total, job.progress.samples_total) == (4, 1000)
    assert not job.progress.HasField("estimate") and not job.progress.HasField("stderr")
    assert [change.state for change in job.history] == [pb.JOB_STATE_QUEUED]
    assert client.get(job.job_id, owner="ana") == job


def test_seed_0_records_a_random_seed_and_a_uint64_seed_survives(client: Client) -> None:
    random_seeded = client.create(seed=0)
    assert random_seeded.seed != 0
    assert client.get(random_seeded.job_id).seed == random_seeded.seed
    biggest = client.create(seed=2**64 - 1)
    assert client.get(biggest.job_id).seed == 2**64 - 1


def test_another_owners_job_is_not_found_like_an_unknown_one(client: Client) -> None:
    job = client.create(owner="ana")
    for owner, job_id in [("bob", job.job_id), ("ana", "0123456789abcdef")]:
        code, details = status_of(partial(client.get, job_id, owner=owner))
        assert code is grpc.StatusCode.NOT_FOUND
        assert details == f"job {job_id} not found"
    cancel = store_pb.CancelJobRequest(owner="bob", job_id=job.job_id)
    assert status_of(lambda: client.call("CancelJob", cancel))[0] is grpc.StatusCode.NOT_FOUND
    assert list_jobs(client, owner="bob").jobs == []


def test_resubmitting_a_request_id_gives_the_same_job(client: Client) -> None:
    first = client.create_response(request_id="req-1", seed=0)
    again = client.create_response(request_id="req-1", seed=0)
    assert first.created and not again.created
    assert again.job == first.job
    # request_id is unique per owner.
    assert client.create_response(owner="bob", request_id="req-1").created


@pytest.mark.parametrize(
    "change",
    [{"parameters": {"samples": 2000}}, {"seed": 5}, {"shards": 3}, {"model": "other"}],
)
def test_reusing_a_request_id_for_something_else_is_refused(
    client: Client, change: dict[str, Any]
) -> None:
    client.create(request_id="req-1", seed=0)
    code, details = status_of(lambda: client.create(request_id="req-1", **{"seed": 0, **change}))
    assert code is grpc.StatusCode.ALREADY_EXISTS
    assert "request_id 'req-1'" in details


def test_concurrent_submissions_of_one_request_id_make_one_job(client: Client) -> None:
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda _: client.create_response(request_id="r"), range(12)))
    assert sum(response.created for response in responses) == 1
    assert len({response.job.job_id for response in responses}) == 1


def test_create_jobs_answers_each_as_create_job_would_in_order(client: Client) -> None:
    def request(request_id: str, **fields: Any) -> store_pb.CreateJobRequest:
        parameters = struct_pb2.Struct()
        parameters.update({"samples": 1000})
        job = {"model": "pi", "shards": 2, "primary_output": "estimate", "block_size": 250}
        return store_pb.CreateJobRequest(
            owner="ana",
            request_id=request_id,
            parameters=parameters,
            samples_total=1000,
            **{**job, **fields},
        )

    batch = [request("a"), request("b", shards=0), request("a"), request("a", seed=9)]
    results = client.call("CreateJobs", store_pb.CreateJobsRequest(jobs=batch)).results
    assert [result.WhichOneof("result") for result in results] == [
        "created",
        "refused",
        "created",
        "refused",
    ]
    first, bad, again, other = results
    assert first.created.created and not again.created.created
    assert again.created.job.job_id == first.created.job.job_id
    assert (bad.refused.code, bad.refused.field) == ("INVALID_ARGUMENT", "shards")
    assert other.refused.code == "ALREADY_EXISTS"


def test_an_empty_request_id_always_makes_a_new_job(client: Client) -> None:
    assert client.create().job_id != client.create().job_id


def test_a_bad_create_request_names_the_field(client: Client) -> None:
    code, details = status_of(lambda: client.create(shards=0))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("shards:")


def test_list_is_newest_first_in_keyset_pages(client: Client) -> None:
    created = [client.create().job_id for _ in range(7)]
    client.create(owner="bob")
    seen, token = [], ""
    while True:
        page = list_jobs(client, page_size=3, page_token=token)
        assert len(page.jobs) <= 3
        seen += [job.job_id for job in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert seen == created[::-1]
    assert len(list_jobs(client).jobs) == 7


def test_list_filters_by_model_and_state(client: Client) -> None:
    pi = client.create(model="pi")
    option = client.create(model="european_option")
    cancel = store_pb.CancelJobRequest(owner="ana", job_id=option.job_id)
    client.call("CancelJob", cancel)
    assert [j.job_id for j in list_jobs(client, model="pi").jobs] == [pi.job_id]
    cancelling = list_jobs(client, states=[pb.JOB_STATE_CANCELLING]).jobs
    assert [j.job_id for j in cancelling] == [option.job_id]
    both = list_jobs(client, states=[pb.JOB_STATE_QUEUED, pb.JOB_STATE_CANCELLING]).jobs
    assert len(both) == 2
    assert list_jobs(client, model="pi", states=[pb.JOB_STATE_CANCELLING]).jobs == []


def test_list_finds_jobs_by_the_start_of_their_id_across_pages(client: Client) -> None:
    created = [client.create().job_id for _ in range(40)]
    others = client.create(owner="bob").job_id
    target = created[3]  # old: far beyond the first page
    found = list_jobs(client, page_size=5, job_id_prefix=target[:5].upper()).jobs
    assert target in [j.job_id for j in found]
    assert all(j.job_id.startswith(target[:5]) for j in found)
    assert [j.job_id for j in list_jobs(client, job_id_prefix=target).jobs] == [target]
    # Another owner's job is not found by its id either.
    assert list_jobs(client, job_id_prefix=others).jobs == []
    code, details = status_of(lambda: list_jobs(client, job_id_prefix="nothex"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("job_id_prefix:")


def test_a_bad_page_token_is_invalid_and_named(client: Client) -> None:
    code, details = status_of(lambda: list_jobs(client, page_token="garbage"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in details


def test_cancel_moves_to_cancelling_once_and_a_finished_job_refuses(client: Client) -> None:
    job = client.create()
    request = store_pb.CancelJobRequest(owner="ana", job_id=job.job_id)
    cancelling = client.call("CancelJob", request)
    assert (cancelling.state, cancelling.seq) == (pb.JOB_STATE_CANCELLING, 2)
    assert client.call("CancelJob", request) == cancelling
    cancelled = client.report_state(job.job_id, pb.JOB_STATE_CANCELLED, reason="pods gone")
    assert cancelled.history[-1].reason == "pods gone"
    code, details = status_of(lambda: client.call("CancelJob", request))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert details == f"job {job.job_id} already CANCELLED"


def test_the_runner_lists_active_jobs_by_state(client: Client) -> None:
    queued = client.create()
    launching = client.create()
    client.report_state(launching.job_id, pb.JOB_STATE_LAUNCHING)
    failed = client.create()
    client.report_state(failed.job_id, pb.JOB_STATE_FAILED, reason="no image")

    def active(*states: pb.JobState) -> set[str]:
        request = store_pb.ListActiveJobsRequest(states=states)
        return {job.job_id for job in client.call("ListActiveJobs", request).jobs}

    assert active(pb.JOB_STATE_LAUNCHING) == {launching.job_id}
    assert active() == {queued.job_id, launching.job_id}
    assert client.get(failed.job_id).error.message == "no image"


def test_the_runner_reports_only_its_states(client: Client) -> None:
    job = client.create()
    code, details = status_of(lambda: client.report_state(job.job_id, pb.JOB_STATE_SUCCEEDED))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("state:")


def test_presets_upsert_list_and_delete(client: Client) -> None:
    def save(name: str, model: str = "pi", samples: int = 10) -> pb.Preset:
        parameters = struct_pb2.Struct()
        parameters.update({"samples": samples})
        preset = pb.Preset(name=name, model=model, parameters=parameters, seed=2**64 - 1, shards=2)
        return client.call("SavePreset", store_pb.SavePresetRequest(owner="ana", preset=preset))

    def names(owner: str = "ana", model: str = "") -> list[str]:
        request = store_pb.ListPresetsRequest(owner=owner, model=model)
        return [p.name for p in client.call("ListPresets", request).presets]

    save("small")
    save("option", model="european_option")
    saved = save("small", samples=20)
    assert saved.HasField("updated_at")
    assert names() == ["option", "small"]
    assert names(model="pi") == ["small"]
    assert names(owner="bob") == []
    (small,) = client.call(
        "ListPresets", store_pb.ListPresetsRequest(owner="ana", model="pi")
    ).presets
    assert (small.parameters["samples"], small.seed) == (20, 2**64 - 1)

    delete = store_pb.DeletePresetRequest(owner="ana", name="small")
    client.call("DeletePreset", delete)
    assert names() == ["option"]
    assert status_of(lambda: client.call("DeletePreset", delete))[0] is grpc.StatusCode.NOT_FOUND
    for bad in ("", "x" * 101):
        code, details = status_of(partial(save, bad))
        assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("preset.name")


def test_health_is_serving_once_started(jobstore: InProcessJobStore) -> None:
    with grpc.insecure_channel(jobstore.app.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING
