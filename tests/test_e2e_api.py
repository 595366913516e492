"""End to end through the public API (grpcio, Connect JSON and gRPC-Web on the one port),
including bad input and the faults of issue #2: no job and no event is lost."""

from __future__ import annotations

import base64
import json
import struct
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.servers import start_postgres
from simlab.devstack.stack import Stack
from simlab.transport.structs import dict_to_struct
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc
from tests.conftest import LOCAL_USER

pytestmark = pytest.mark.e2e
OPTION = {"spot": 100, "strike": 105, "volatility": 0.2, "maturity": 1, "rate": 0.05}
ALICE = (("authorization", "Bearer alice-token"),)


def count_jobs(client: Client) -> int:
    total, token = 0, ""
    while True:
        jobs, token = client.list_jobs(page_size=500, page_token=token)
        total += len(jobs)
        if not token:
            return total


def refused(call: Any, code: Code) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


@pytest.mark.parametrize(
    ("model", "params", "shards", "field"),
    [
        ("no_such_model", {}, 1, "model"),
        (
            "european_option",
            {k: v for k, v in OPTION.items() if k != "strike"},
            1,
            "parameters.strike",
        ),
        ("european_option", {**OPTION, "colour": "red"}, 1, "parameters.colour"),
        ("european_option", {**OPTION, "volatility": -0.2}, 1, "parameters.volatility"),
        ("european_option", {**OPTION, "paths": "many"}, 1, "parameters.paths"),
        ("european_option", {**OPTION, "paths": 0}, 1, "parameters.paths"),
        ("european_option", {**OPTION, "option_type": "straddle"}, 1, "parameters.option_type"),
        ("pi", {"samples": 10_000_000}, 17, "shards"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field_and_stores_nothing(
    alice: Client, model: str, params: dict[str, Any], shards: int, field: str
) -> None:
    before = count_jobs(alice)
    error = refused(lambda: alice.submit(model, params, shards=shards), Code.INVALID_ARGUMENT)
    assert error.message.startswith(f"{field}: ")
    assert error.field == field  # read from the status details (google.rpc.BadRequest)
    assert count_jobs(alice) == before


def unpadded_b64(value: str) -> bytes:
    """Base64 as Connect and gRPC send it, padding left off."""
    return base64.b64decode(value + "=" * (-len(value) % 4))


def test_an_invalid_submit_names_the_field_in_its_status_details(
    stack: Stack, alice: Client
) -> None:
    # A native gRPC client, as any language's would read it: the rich status trailer.
    request = pb.SubmitJobRequest(model="pi", parameters=dict_to_struct({"samples": -5}))
    with (
        grpc.insecure_channel(stack.url.removeprefix("http://")) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        simulation_pb2_grpc.SimulationServiceStub(channel).SubmitJob(
            request, timeout=10, metadata=ALICE
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    message = caught.value.details()
    assert message.startswith("parameters.samples: ")
    status = rpc_status.from_call(caught.value)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    [violation] = bad_request.field_violations
    assert violation.field == "parameters.samples"
    assert violation.description == message.removeprefix("parameters.samples: ")

    # gRPC-Web (the web UI): the same status in the trailers.
    message_bytes = request.SerializeToString()
    frame = struct.pack(">BI", 0, len(message_bytes)) + message_bytes
    _, headers, body = _post(
        f"{stack.url}/simlab.v1.SimulationService/SubmitJob", frame, "application/grpc-web+proto"
    )
    trailers = {k.lower(): v for k, v in headers.items()}
    if body[:1] == b"\x80":  # a trailer frame, else a trailers-only response in the headers
        for line in body[5:].decode().splitlines():
            key, _, value = line.partition(":")
            trailers[key.strip().lower()] = value.strip()
    assert trailers["grpc-status"] == "3"
    rich = status_pb2.Status.FromString(unpadded_b64(trailers["grpc-status-details-bin"]))
    from_grpc_web = error_details_pb2.BadRequest()
    assert rich.details[0].Unpack(from_grpc_web)
    assert from_grpc_web == bad_request

    # Connect JSON (curl and other HTTP clients): the same detail, as {type, value: base64}.
    status_code, _, body = _post(
        f"{stack.url}/simlab.v1.SimulationService/SubmitJob",
        json.dumps({"model": "pi", "parameters": {"samples": -5}}).encode(),
        "application/json",
    )
    assert status_code == 400
    [detail] = json.loads(body)["details"]
    assert detail["type"] == "google.rpc.BadRequest"
    assert error_details_pb2.BadRequest.FromString(unpadded_b64(detail["value"])) == bad_request

    # A refusal of the job store's keeps its field through the gateway, to the SDK.
    refusal = refused(lambda: alice.list_jobs(job_id_prefix="not-hex"), Code.INVALID_ARGUMENT)
    assert refusal.field == "job_id_prefix"


def test_unknown_and_other_users_jobs_are_not_found(alice: Client, bob: Client) -> None:
    refused(lambda: alice.get("0123456789abcdef"), Code.NOT_FOUND)
    job = alice.submit("pi", {"samples": 1000}, seed=5)
    refused(lambda: bob.get(job.job_id), Code.NOT_FOUND)
    refused(lambda: bob.cancel(job.job_id), Code.NOT_FOUND)
    refused(lambda: bob.artifacts(job.job_id), Code.NOT_FOUND)
    assert job.job_id not in [j.job_id for j in bob.list_jobs(page_size=500)[0]]
    assert alice.wait(job.job_id, progress=False).state == pb.JOB_STATE_SUCCEEDED


def test_a_missing_or_forged_token_is_unauthenticated(stack: Stack) -> None:
    # No anonymous local user: a request without a token is nobody's, on every protocol.
    with Client(stack.url, token="forged") as forged:
        refused(forged.models, Code.UNAUTHENTICATED)
    with grpc.insecure_channel(stack.url.removeprefix("http://")) as channel:
        stub = simulation_pb2_grpc.SimulationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListModels(pb.ListModelsRequest(), timeout=10)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    listing = f"{stack.url}/simlab.v1.SimulationService/ListJobs"
    status, _, body = _post(listing, b"{}", "application/json", Authorization="")
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"


def test_the_local_token_signs_in_the_local_user(client: Client) -> None:
    job = client.submit("pi", {"samples": 1000}, seed=3)
    assert job.owner == LOCAL_USER


def test_a_token_ending_in_equals_is_its_own_users(stack: Stack) -> None:
    # base64 padding: "Y2Fyb2w==carol" is split at the last '='.
    with Client(stack.url, token="Y2Fyb2w=") as carol:
        assert carol.submit("pi", {"samples": 1000}, seed=3).owner == "carol"
    with Client(stack.url, token="Y2Fyb2w") as cut:
        refused(cut.models, Code.UNAUTHENTICATED)


def test_another_host_is_refused_on_every_protocol(stack: Stack) -> None:
    """DNS rebinding: a page elsewhere that points its own name at this address."""
    target = stack.url.removeprefix("http://")
    # gRPC (the :authority), with a valid token.
    options = [("grpc.default_authority", "evil.example")]
    with grpc.insecure_channel(target, options=options) as channel:
        stub = simulation_pb2_grpc.SimulationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListModels(pb.ListModelsRequest(), timeout=10, metadata=ALICE)
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "SIMLAB_GATEWAY_ALLOWED_HOSTS" in (caught.value.details() or "")
    with grpc.insecure_channel(target, options=[("grpc.default_authority", "localhost")]) as ok:
        assert (
            simulation_pb2_grpc.SimulationServiceStub(ok)
            .ListModels(pb.ListModelsRequest(), timeout=10, metadata=ALICE)
            .models
        )
    # Connect.
    listing = f"{stack.url}/simlab.v1.SimulationService/ListModels"
    status, _, body = _post(listing, b"{}", "application/json", Host="evil.example")
    assert status == 403 and json.loads(body)["code"] == "permission_denied"
    # gRPC-Web.
    frame = struct.pack(">BI", 0, 0)
    status, headers, _ = _post(listing, frame, "application/grpc-web+proto", Host="evil.example")
    assert (status, headers.get("grpc-status")) == (200, "7")
    # The web UI and downloads.
    for path in ("/", "/files/x/summary.json"):
        request = urllib.request.Request(f"{stack.url}{path}", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused_page:
            urllib.request.urlopen(request, timeout=10)
        assert refused_page.value.code == 403
    with urllib.request.urlopen(f"http://localhost:{stack.port}/", timeout=10) as page:
        assert page.status == 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_a_browser_signs_in_once_by_login_link_and_then_by_cookie(
    stack: Stack, alice: Client
) -> None:
    url = alice.login_link()
    assert url.startswith(f"{stack.url}/auth/login?code=")
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as opened:
        opener.open(url, timeout=10)
    assert (opened.value.code, opened.value.headers["location"]) == (303, "/")
    set_cookie = opened.value.headers["set-cookie"]
    flags = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    cookie = set_cookie.split(";")[0]
    # The cookie signs in the API (as the web UI calls it) and downloads.
    listing = f"{stack.url}/simlab.v1.SimulationService/ListModels"
    status, _, _ = _post(listing, b"{}", "application/json", Authorization="", Cookie=cookie)
    assert status == 200
    job = alice.wait(alice.submit("pi", {"samples": 1000}, seed=4).job_id, progress=False)
    summary = f"{stack.url}/files/{job.job_id}/summary.json"
    request = urllib.request.Request(summary, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "estimate" in json.loads(response.read())["summary"]
    # Once only.
    with pytest.raises(urllib.error.HTTPError) as again:
        opener.open(url, timeout=10)
    assert again.value.code == 401
    # A token in the URL no longer signs anyone in.
    with pytest.raises(urllib.error.HTTPError) as in_url:
        urllib.request.urlopen(f"{summary}?access_token=alice-token", timeout=10)
    assert in_url.value.code == 401


def test_idempotent_submission_by_request_id(alice: Client) -> None:
    request_id = uuid.uuid4().hex
    first = alice.submit("pi", {"samples": 1000}, seed=9, request_id=request_id)
    again = alice.submit("pi", {"samples": 1000}, seed=9, request_id=request_id)
    assert again.job_id == first.job_id
    error = refused(
        lambda: alice.submit("pi", {"samples": 2000}, seed=9, request_id=request_id),
        Code.ALREADY_EXISTS,
    )
    assert "request_id" in error.message
    alice.wait(first.job_id, progress=False)


def test_cancel_of_a_finished_job_is_a_failed_precondition(alice: Client) -> None:
    job = alice.submit("pi", {"samples": 1000}, seed=1)
    assert alice.wait(job.job_id, progress=False).state == pb.JOB_STATE_SUCCEEDED
    refused(lambda: alice.cancel(job.job_id), Code.FAILED_PRECONDITION)


def test_a_model_that_raises_fails_the_job_keeping_message_traceback_and_logs(
    alice: Client,
) -> None:
    job = alice.submit("test_failing", {"samples": 1000, "fail_at": 3}, shards=2)
    done = alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_FAILED
    assert "ValueError: model exploded on purpose (fail_at=3)" in done.error.message
    assert "Traceback" in done.error.traceback and "_explode" in done.error.traceback
    deadline = time.monotonic() + 20
    while not any(a.name.startswith("logs/") for a in alice.artifacts(job.job_id)):
        assert time.monotonic() < deadline, "the worker logs were not kept"
        time.sleep(0.2)


def test_watch_streams_a_snapshot_then_every_change_in_order(alice: Client) -> None:
    job = alice.submit("pi", {"samples": 20_000_000}, shards=2, seed=4)
    events = list(alice.watch(job.job_id))
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)), "events must arrive once each, in order"
    assert events[0].kind == pb.EVENT_KIND_SNAPSHOT
    assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED
    progress = [e.job.progress.samples_done for e in events if e.kind == pb.EVENT_KIND_PROGRESS]
    assert progress == sorted(progress) and len(progress) >= 2
    # Resuming after a seq replays nothing already seen.
    resumed = list(alice.watch(job.job_id, after_seq=events[-1].seq))
    assert resumed == []
    history = alice.progress_history(job.job_id)
    assert history and history[-1].samples_done == 20_000_000


def _post(
    url: str, body: bytes, content_type: str, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """POSTs as alice unless `headers` say otherwise."""
    headers = {"Content-Type": content_type, "Authorization": "Bearer alice-token", **headers}
    sent = {name: value for name, value in headers.items() if value}
    request = urllib.request.Request(url, body, sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_connect_json_is_served_on_the_same_port(stack: Stack) -> None:
    status, _, body = _post(
        f"{stack.url}/simlab.v1.SimulationService/ListModels", b"{}", "application/json"
    )
    assert status == 200
    assert "european_option" in [m["name"] for m in json.loads(body)["models"]]
    status, _, body = _post(
        f"{stack.url}/simlab.v1.SimulationService/SubmitJob",
        json.dumps({"model": "pi", "parameters": {"samples": -5}}).encode(),
        "application/json",
    )
    assert status == 400
    assert json.loads(body)["message"].startswith("parameters.samples: ")


def test_grpc_web_is_served_on_the_same_port(stack: Stack) -> None:
    message = pb.GetJobRequest(job_id="0123456789abcdef").SerializeToString()
    frame = struct.pack(">BI", 0, len(message)) + message
    status, headers, body = _post(
        f"{stack.url}/simlab.v1.SimulationService/GetJob", frame, "application/grpc-web+proto"
    )
    assert status == 200
    trailer = body[5:].decode() if body[:1] == b"\x80" else headers.get("grpc-status", "")
    assert "grpc-status:5" in trailer.replace(" ", "") or headers.get("grpc-status") == "5"


def test_health_is_serving(stack: Stack) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(stack.url.removeprefix("http://")) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_cancel_ends_cancelled_never_stuck(alice: Client) -> None:
    job = alice.submit("test_slow", {"samples": 100_000, "seconds_per_block": 0.2}, shards=2)
    for event in alice.watch(job.job_id):
        if event.job.state == pb.JOB_STATE_RUNNING:
            break
    assert alice.cancel(job.job_id).state == pb.JOB_STATE_CANCELLING
    done = alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_CANCELLED
    assert [h.state for h in done.history][-2:] == [pb.JOB_STATE_CANCELLING, pb.JOB_STATE_CANCELLED]


def test_runner_killed_mid_run_then_restarted_the_job_still_ends(
    stack: Stack, alice: Client
) -> None:
    job = alice.submit("test_slow", {"samples": 3000, "seconds_per_block": 0.1}, shards=2, seed=8)
    for event in alice.watch(job.job_id):
        if event.job.progress.blocks_done >= 2:
            break
    stack.kill("runner")
    stack.start_service("runner")
    done = alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED
    assert done.progress.samples_done == 3000


def test_runner_down_while_workers_vanish_relaunches_them(stack: Stack, alice: Client) -> None:
    """Decision documented in the runner: a RUNNING job whose workers are gone when the
    runner comes back is relaunched; the shards resume from their recorded blocks."""
    job = alice.submit("test_slow", {"samples": 4000, "seconds_per_block": 0.1}, shards=2, seed=2)
    for event in alice.watch(job.job_id):
        if event.job.progress.blocks_done >= 2:
            break
    stack.kill("runner")
    _kill_workers_of(stack, job.job_id)
    stack.start_service("runner")
    done = alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert done.progress.samples_done == 4000


def _kill_workers_of(stack: Stack, job_id: str) -> None:
    import contextlib
    import os
    import signal

    for record in (stack.state_dir / "runner" / "local" / job_id).glob("shard-*.json"):
        pid = json.loads(record.read_text())["pid"]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_run_outlives_its_job_store_stopped_killed_and_its_database_restarted(
    stack: Stack, alice: Client
) -> None:
    """What an upgrade, a crash and a database failover do under a running job: its workers
    ride them out, and the result is the one an undisturbed run gives."""
    params = {"samples": 30000, "seconds_per_block": 0.03}
    job = alice.submit("test_slow", params, shards=3, seed=21)

    def after_progress(blocks: int) -> None:
        for event in alice.watch(job.job_id):
            if event.job.progress.blocks_done >= blocks:
                return

    after_progress(3)
    stack.stop_service("jobstore")  # SIGTERM: drains
    stack.start_service("jobstore")
    after_progress(60)
    stack.kill("jobstore")
    stack.start_service("jobstore")
    after_progress(120)
    assert stack.postgres is not None
    stack.postgres.stop()
    stack.postgres = start_postgres(stack.postgres.data_dir)
    done = alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert done.progress.samples_done == 30000
    # Every fault happened while the job ran.
    assert [h.state for h in done.history][-2:] == [pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED]
    undisturbed = alice.submit("test_slow", {**params, "seconds_per_block": 0.0}, seed=21)
    assert alice.wait(undisturbed.job_id, progress=False).state == pb.JOB_STATE_SUCCEEDED
    assert alice.summary(job.job_id)["mean"] == alice.summary(undisturbed.job_id)["mean"]


def test_jobstore_killed_between_commit_and_publish_still_delivers_the_event(
    stack: Stack, alice: Client
) -> None:
    stack.kill("jobstore")
    stack.extra_env["SIMLAB_JOBSTORE_FAULT"] = "kill-after-commit"
    try:
        stack.start_service("jobstore")
        with pytest.raises(SimlabError):
            alice.submit("pi", {"samples": 1000}, seed=12, request_id="outbox-crash")
    finally:
        del stack.extra_env["SIMLAB_JOBSTORE_FAULT"]
        stack.processes.pop("jobstore").wait(10)
    stack.start_service("jobstore")
    # The row was committed before the crash: the same request finds the same job, and the
    # event still reached the runner, which ran the job.
    job = alice.submit("pi", {"samples": 1000}, seed=12, request_id="outbox-crash")
    assert alice.wait(job.job_id, progress=False).state == pb.JOB_STATE_SUCCEEDED
