"""Per-user quotas against a running job store: active jobs at submit, presets and live share
links; reaching one is RESOURCE_EXHAUSTED naming the quota, its limit and its setting, and
freeing one (a job ends, a preset is deleted, a link revoked) makes room again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from services.jobstore.tests.conftest import Client, InProcessJobStore, status_of
from simlab.common.settings import SettingsError
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def client(jobstore_env: Callable[..., dict[str, str]]) -> Iterator[Client]:
    env = jobstore_env(
        MAX_ACTIVE_JOBS_PER_USER="2", MAX_PRESETS_PER_USER="2", MAX_SHARE_LINKS_PER_USER="2"
    )
    store = InProcessJobStore(Settings.from_env(env))
    yield store.client
    store.stop()


def refused(call: Callable[[], object]) -> str:
    code, details = status_of(call)
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, (code, details)
    return details


def test_active_jobs_are_bounded_per_user_until_one_ends(client: Client) -> None:
    first = client.create(owner="ana", request_id="r1")
    client.create(owner="ana", request_id="r2")
    details = refused(lambda: client.create(owner="ana", request_id="r3"))
    assert "at most 2 active jobs per user" in details
    assert "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER" in details
    # Someone else's quota is their own; a resubmission still gets its job back.
    client.create(owner="bob")
    again = client.create_response(owner="ana", request_id="r1")
    assert (again.job.job_id, again.created) == (first.job_id, False)

    client.call("CancelJob", store_pb.CancelJobRequest(owner="ana", job_id=first.job_id))
    client.report_state(first.job_id, pb.JOB_STATE_CANCELLED)
    client.create(owner="ana", request_id="r3")


def test_concurrent_submissions_take_exactly_the_room_left(client: Client) -> None:
    client.create(owner="ana", request_id="held")

    def submit(request_id: str) -> str | grpc.StatusCode:
        try:
            return client.create_response(owner="ana", request_id=request_id).job.request_id
        except grpc.RpcError as error:
            return error.code()

    # One room is left; six submissions of one request_id (one job) and six of others race.
    request_ids = ["same"] * 6 + [f"other-{i}" for i in range(6)]
    with ThreadPoolExecutor(12) as pool:
        outcomes = dict(zip(range(12), pool.map(submit, request_ids), strict=True))
    winners = {outcome for outcome in outcomes.values() if isinstance(outcome, str)}
    assert len(winners) == 1
    (winner,) = winners
    for i, request_id in enumerate(request_ids):
        expected = winner if request_id == winner else grpc.StatusCode.RESOURCE_EXHAUSTED
        assert outcomes[i] == expected, (request_id, outcomes)


def test_a_batch_past_the_quota_is_refused_item_by_item_naming_it(client: Client) -> None:
    jobs = [
        store_pb.CreateJobRequest(
            owner="ana",
            request_id=f"r{i}",
            model="pi",
            shards=1,
            primary_output="estimate",
            block_size=250,
            samples_total=1000,
        )
        for i in range(3)
    ]
    results = client.call("CreateJobs", store_pb.CreateJobsRequest(jobs=jobs)).results
    assert [result.WhichOneof("result") for result in results] == ["created", "created", "refused"]
    refused = results[2].refused
    assert refused.code == "RESOURCE_EXHAUSTED"
    assert refused.quota and "at most 2 active jobs per user" in refused.message


def save(client: Client, name: str, owner: str = "ana") -> pb.Preset:
    preset = pb.Preset(name=name, model="pi", shards=1)
    return client.call("SavePreset", store_pb.SavePresetRequest(owner=owner, preset=preset))


def test_presets_are_bounded_per_user_and_replacing_one_is_always_allowed(
    client: Client,
) -> None:
    save(client, "a")
    save(client, "b")
    details = refused(lambda: save(client, "c"))
    assert "at most 2 presets per user" in details
    assert "SIMLAB_JOBSTORE_MAX_PRESETS_PER_USER" in details
    save(client, "b")  # the same name replaces: nothing more is held
    save(client, "c", owner="bob")
    client.call("DeletePreset", store_pb.DeletePresetRequest(owner="ana", name="a"))
    save(client, "c")


def test_live_share_links_are_bounded_per_user(client: Client) -> None:
    job = client.create(owner="ana")

    def share() -> pb.CreateShareLinkResponse:
        request = store_pb.CreateShareLinkRequest(owner="ana", job_id=job.job_id, ttl_seconds=60)
        return client.call("CreateShareLink", request)

    first = share()
    share()
    details = refused(share)
    assert "at most 2 share links per user" in details
    assert "SIMLAB_JOBSTORE_MAX_SHARE_LINKS_PER_USER" in details
    revoke = store_pb.RevokeShareLinkRequest(owner="ana", link_id=first.link.link_id)
    client.call("RevokeShareLink", revoke)
    share()


def test_quota_settings_are_validated(jobstore_env: Callable[..., dict[str, str]]) -> None:
    with pytest.raises(SettingsError, match="SIMLAB_JOBSTORE_MAX_PRESETS_PER_USER"):
        Settings.from_env(jobstore_env(MAX_PRESETS_PER_USER="0"))
    assert Settings.from_env(jobstore_env()).quotas.active_jobs == 1000
