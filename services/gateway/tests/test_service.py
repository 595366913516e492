"""The API service as connect-python serves it, with fake ports: a push's files arrive in one
message as large as the bundle limit allows, and model calls answer as the caller."""

from __future__ import annotations

import json
from typing import Any

from services.gateway.tests.fakes import FakeJobStore, asgi_post, fake_api, toy_version
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.transport.service import (
    PUSH_OVERHEAD_BYTES,
)

LIMIT = 2 * 1024 * 1024
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
