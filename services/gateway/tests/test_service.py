"""The API service as connect-python serves it, with fake ports: a push's files arrive in one
message as large as the bundle limit allows, and model calls answer as the caller."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format

from services.gateway.tests.fakes import FakeJobStore, asgi_post, fake_api, toy_version
from services.gateway.tests.test_study_use_cases import store_with_study
from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import SHARE_TOKEN_PREFIX
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.transport.service import (
    PUSH_OVERHEAD_BYTES,
)

LIMIT = 2 * 1024 * 1024
SHARE = SHARE_TOKEN_PREFIX + "study"
INSPECTED = pb.Model(title="Big", kind=pb.MODEL_KIND_BLOCKS, block_size=100)


def api(store: FakeJobStore) -> Any:
    return fake_api(store, LIMIT)


def post(app: Any, method: str, body: bytes) -> tuple[int, bytes]:
    """A Connect unary call with a binary protobuf body, sent in 64 KiB pieces."""
    headers = {"content-type": "application/proto", "authorization": "Bearer alice-token"}
    answer = asgi_post(app, method, body, headers)
    return answer.status, answer.body


def big_push(size: int) -> pb.PushModelRequest:
    files = [
        pb.BundleFile(path="big.py", data=b"def simulate(rng, n):\n    return rng.random(n)\n"),
        pb.BundleFile(path="data.bin", data=b"x" * size),
    ]
    return pb.PushModelRequest(name="big", entry="big.py", files=files)


def test_a_push_as_large_as_the_bundle_limit_is_read_whole() -> None:
    store = FakeJobStore(registration_outcome=INSPECTED)
    request = big_push(LIMIT - 100)
    status, body = post(api(store), "PushModel", request.SerializeToString())
    assert status == 200, body
    answer = pb.PushModelResponse.FromString(body)
    assert answer.created and (answer.model.name, answer.model.version) == ("big", 1)
    [(owner, registration)] = store.registrations
    assert owner == "alice" and registration.files == ("big.py", "data.bin")


def test_a_bundle_over_the_limit_is_refused_naming_its_largest_files() -> None:
    store = FakeJobStore()
    status, body = post(api(store), "PushModel", big_push(LIMIT + 1).SerializeToString())
    assert status == 400
    assert "data.bin" in json.loads(body)["message"]
    # Far over it, the request is not even read.
    huge = big_push(LIMIT + PUSH_OVERHEAD_BYTES).SerializeToString()
    assert post(api(store), "PushModel", huge)[0] == 429
    assert store.registrations == []


def test_a_path_sent_twice_is_refused() -> None:
    request = big_push(10)
    request.files.append(pb.BundleFile(path="big.py", data=b""))
    status, body = post(api(FakeJobStore()), "PushModel", request.SerializeToString())
    assert status == 400 and json.loads(body)["message"].startswith("files: ")


def test_models_are_read_as_the_caller() -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    store.add_model(pb.Model(name="mine", version=3, owner="alice"))
    app = api(store)
    status, body = post(app, "ListModels", b"")
    assert status == 200
    assert [m.name for m in pb.ListModelsResponse.FromString(body).models] == ["mine", "toy"]
    request = pb.GetModelRequest(model="mine@v3").SerializeToString()
    assert pb.Model.FromString(post(app, "GetModel", request)[1]).version == 3
    request = pb.ListModelVersionsRequest(name="toy").SerializeToString()
    versions = pb.ListModelVersionsResponse.FromString(post(app, "ListModelVersions", request)[1])
    assert [v.version for v in versions.versions] == [1]


def test_a_run_is_extended_over_the_api_as_a_submission() -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    source = pb.Job(
        job_id="job7",
        model="toy",
        model_version=1,
        seed=5,
        shards=1,
        block_size=100,
        kind=pb.JOB_KIND_RUN,
        state=pb.JOB_STATE_SUCCEEDED,
    )
    source.parameters.update({"samples": 1000, "scale": 1.0})
    store.add("alice", source)
    request = pb.ExtendJobRequest(job_id="job7", samples=3000, precision=pb.Precision(abs_tol=0.1))
    status, body = post(api(store), "ExtendJob", request.SerializeToString())
    assert status == 200, body
    assert pb.SubmitJobResponse.FromString(body).created
    [(owner, plan)] = store.plans
    assert (owner, plan.extends, plan.samples_total, plan.seed) == ("alice", "job7", 3000, 5)
    assert plan.precision is not None and plan.precision.abs_tol == 0.1


def test_a_submission_carries_its_precision_target_and_no_cache() -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    request = pb.SubmitJobRequest(
        model="toy", seed=3, precision=pb.Precision(rel_tol=0.01, confidence=0.99), no_cache=True
    )
    request.parameters.update({"scale": 1.0})
    status, body = post(api(store), "SubmitJob", request.SerializeToString())
    assert status == 200, body
    [(_, plan)] = store.plans
    assert plan.no_cache and plan.precision is not None and plan.precision.confidence == 0.99
    request.precision.confidence = 2.0
    status, body = post(api(store), "SubmitJob", request.SerializeToString())
    assert status == 400 and json.loads(body)["message"].startswith("precision.confidence: ")


def connect_json(app: Any, method: str, body: dict[str, Any], token: str = "alice-token") -> Any:
    """A Connect unary call with a JSON body: (status, the answer as JSON)."""
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    answer = asgi_post(app, method, json.dumps(body).encode(), headers)
    return answer.status, json.loads(answer.body or b"{}")


def test_a_study_is_submitted_over_the_api_with_its_values_decoded() -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    spec = {
        "model": "toy",
        "parameters": {"samples": 500},
        "axes": [
            {"parameter": "scale", "values": {"values": [0.5, 2]}},
            {"parameter": "samples", "range": {"start": 100, "stop": 1000, "count": 2}},
        ],
        "crn": True,
        "seed": "9",
    }
    status, body = connect_json(api(store), "SubmitStudy", {"spec": spec, "requestId": "r1"})
    # samples is both fixed and swept.
    assert (status, body["message"].split(":")[0]) == (400, "spec.axes[1].parameter")
    del spec["parameters"]
    status, body = connect_json(api(store), "SubmitStudy", {"spec": spec, "requestId": "r1"})
    assert status == 200, body
    assert body["created"] and body["study"]["points"] == 4
    [(owner, request_id, plan)] = store.study_plans
    assert (owner, request_id, plan.spec.seed, plan.swept) == (
        "alice",
        "r1",
        9,
        ("scale", "samples"),
    )
    assert [(p.parameters["scale"], p.samples_total, p.seed) for p in plan.points] == [
        (0.5, 100, 9),
        (0.5, 1000, 9),
        (2.0, 100, 9),
        (2.0, 1000, 9),
    ]


def test_list_jobs_passes_include_study_points_through() -> None:
    store = FakeJobStore()
    app = api(store)
    assert connect_json(app, "ListJobs", {"includeStudyPoints": True})[0] == 200
    assert connect_json(app, "ListJobs", {})[0] == 200
    assert [q.include_study_points for q in store.job_queries] == [True, False]


def test_a_study_is_watched_over_the_api_as_a_server_stream() -> None:
    store = store_with_study(points=3)
    store.studies["alice", "study1"].state = pb.STUDY_STATE_SUCCEEDED
    store.studies["alice", "study1"].counts.CopyFrom(pb.StudyCounts(succeeded=3))
    payload = json.dumps({"studyId": "study1"}).encode()
    headers = {"content-type": "application/connect+json", "authorization": "Bearer alice-token"}
    answer = asgi_post(
        api(store), "WatchStudy", b"\0" + len(payload).to_bytes(4, "big") + payload, headers
    )
    frames, rest = [], answer.body
    while rest:
        flags, size = rest[0], int.from_bytes(rest[1:5], "big")
        frames.append((flags, json.loads(rest[5 : 5 + size])))
        rest = rest[5 + size :]
    [(flags, event), (end, trailer)] = frames
    assert (flags, end & 0b10, trailer) == (0, 0b10, {})
    assert event["snapshot"] and [p.get("index", 0) for p in event["points"]] == [0, 1, 2]
    assert event["study"]["state"] == "STUDY_STATE_SUCCEEDED"


def envelopes(body: bytes) -> list[tuple[int, bytes]]:
    """A streamed body's envelopes: (flags, payload) each."""
    found = []
    while body:
        flags, size = body[0], int.from_bytes(body[1:5], "big")
        found.append((flags, body[5 : 5 + size]))
        body = body[5 + size :]
    return found


def test_a_job_is_watched_over_the_api_in_each_protocol() -> None:
    """WatchJob over Connect (binary and JSON) and gRPC-Web: the snapshot of an ended job, then
    the end of the stream; a malformed job id ends it with INVALID_ARGUMENT."""
    store = FakeJobStore()
    job = store.add("alice", pb.Job(job_id="job1", seq=4, state=pb.JOB_STATE_SUCCEEDED))
    snapshot = pb.JobEvent(job_id="job1", seq=4, kind=pb.EVENT_KIND_SNAPSHOT, job=job)
    protocols = {
        "application/connect+proto": (0b10, lambda m: m.SerializeToString()),
        "application/connect+json": (0b10, lambda m: json_format.MessageToJson(m).encode()),
        "application/grpc-web+proto": (0x80, lambda m: m.SerializeToString()),
    }
    for content_type, (end_flag, encode) in protocols.items():
        headers = {"content-type": content_type, "authorization": "Bearer alice-token"}
        payload = encode(pb.WatchJobRequest(job_id="job1"))
        answer = asgi_post(
            api(store), "WatchJob", b"\0" + len(payload).to_bytes(4, "big") + payload, headers
        )
        [(flags, event), (end, trailer)] = envelopes(answer.body)
        assert (answer.status, flags, end & end_flag) == (200, 0, end_flag), content_type
        assert event == encode(snapshot), content_type

        payload = encode(pb.WatchJobRequest(job_id="Not/A/Job"))
        answer = asgi_post(
            api(store), "WatchJob", b"\0" + len(payload).to_bytes(4, "big") + payload, headers
        )
        [(end, trailer)] = envelopes(answer.body)
        assert end & end_flag and b"job_id" in trailer, (content_type, trailer)
        assert b"invalid_argument" in trailer or b"grpc-status: 3" in trailer, trailer


def test_a_study_share_token_reads_its_points_runs_over_the_api_and_no_other_run() -> None:
    store = store_with_study()

    async def resolve(token: str) -> Principal:
        if token != SHARE:
            raise SimlabError(Code.UNAUTHENTICATED, "unknown share link")
        return Principal("alice", shared_study="study1")

    app = fake_api(store, LIMIT, resolve)
    assert connect_json(app, "GetStudy", {"studyId": "study1"}, SHARE)[0] == 200
    assert connect_json(app, "GetJob", {"jobId": "p2"}, SHARE)[0] == 200
    status, body = connect_json(app, "GetJob", {"jobId": "job9"}, SHARE)
    assert (status, body["code"]) == (403, "permission_denied")
    status, body = connect_json(app, "CancelStudy", {"studyId": "study1"}, SHARE)
    assert (status, body["code"]) == (403, "permission_denied")
