"""The model registry against a running job store: versions numbered per name and immutable,
who sees what, who owns a name, registration jobs (hidden, one transaction at the end, nothing
left by a failure) and the built-ins every gateway seeds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import grpc
import pytest

from services.jobstore.tests.conftest import (
    Client,
    EventReader,
    inspected,
    registered_version,
    sha,
    status_of,
)
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.integration


def versions(client: Client, owner: str, name: str) -> list[int]:
    request = store_pb.ListModelVersionsRequest(owner=owner, name=name)
    return [model.version for model in client.call("ListModelVersions", request).versions]


def listed(client: Client, owner: str) -> dict[str, int]:
    models = client.call("ListModels", store_pb.ListModelsRequest(owner=owner)).models
    return {model.name: model.version for model in models}


def builtin(name: str = "pi", code: str = "pi v1", **fields: Any) -> pb.Model:
    model = inspected(
        name=name,
        code_sha256=sha(code),
        code_size=2048,
        entry="pi.py",
        files=["pi.py"],
        runtime="local",
        **fields,
    )
    model.block_size = 0  # a built-in's code decides its blocks
    return model


def register_builtin(client: Client, model: pb.Model) -> pb.Model:
    return client.call("RegisterBuiltinModel", store_pb.RegisterBuiltinModelRequest(model=model))


def test_a_registration_makes_version_1_with_the_inspected_schema(
    client: Client, stream: EventReader
) -> None:
    begun = client.begin_registration("ana", "asian", sha("v1"), public=False)
    job = begun.job
    assert not begun.HasField("existing")
    assert (job.kind, job.model, job.code_sha256, job.model_version) == (
        pb.JOB_KIND_REGISTRATION,
        "asian",
        sha("v1"),
        0,
    )
    assert (job.shards, job.state, job.progress.blocks_total) == (1, pb.JOB_STATE_QUEUED, 0)
    # Its "created" event is what the runner launches it from, as for any job.
    (created,) = stream.of(job.job_id)
    assert created.subject.endswith(".queued") and created.event.job == job

    started = client.start_shard(job.job_id, 0, runtime="local (Python 3.11.9)")
    assert started.job.kind == pb.JOB_KIND_REGISTRATION and started.job.code_sha256 == sha("v1")
    done = client.complete_registration(job.job_id)
    assert done.state == pb.JOB_STATE_SUCCEEDED
    assert dict(done.summary) == {"model": "asian", "version": 1}
    assert done.runtime == "local (Python 3.11.9)"

    model = client.get_model("ana", "asian")
    expected = inspected(
        name="asian",
        version=1,
        owner="ana",
        code_sha256=sha("v1"),
        code_size=10240,
        entry="model.py",
        files=["model.py", "helpers.py"],
    )
    expected.created_at.CopyFrom(model.created_at)
    assert model == expected
    assert client.get_model("ana", "asian", 1) == model
    # Completing again (a retried call) changes nothing and makes no second version.
    assert client.complete_registration(job.job_id) == done
    assert versions(client, "ana", "asian") == [1]
    assert [e.event.job.state for e in stream.of(job.job_id, at_least=3)] == [
        pb.JOB_STATE_QUEUED,
        pb.JOB_STATE_RUNNING,
        pb.JOB_STATE_SUCCEEDED,
    ]


def test_versions_count_up_per_name_and_unchanged_code_is_the_latest_version(
    client: Client,
) -> None:
    assert client.register("ana", "asian", sha("v1")).version == 1
    assert client.register("ana", "asian", sha("v2")).version == 2
    assert client.register("ana", "other", sha("v1")).version == 1
    unchanged = client.begin_registration("ana", "asian", sha("v2"))
    assert not unchanged.HasField("job")
    assert (unchanged.existing.version, unchanged.existing.code_sha256) == (2, sha("v2"))
    # Going back to older code is a new version: versions are never rewritten.
    assert client.register("ana", "asian", sha("v1")).version == 3
    assert versions(client, "ana", "asian") == [3, 2, 1]
    assert client.get_model("ana", "asian", 2).code_sha256 == sha("v2")
    assert client.get_model("ana", "asian").version == 3


def test_private_models_are_their_owners_and_invisible_is_not_found(client: Client) -> None:
    client.register("ana", "secret", sha("s"))
    client.register("ana", "shared", sha("p"), public=True)
    register_builtin(client, builtin())
    assert listed(client, "ana") == {"pi": 1, "secret": 1, "shared": 1}
    assert listed(client, "bob") == {"pi": 1, "shared": 1}
    assert listed(client, "") == {"pi": 1, "secret": 1, "shared": 1}
    for call, message in [
        (lambda: client.get_model("bob", "secret"), "model secret not found"),
        (lambda: client.get_model("bob", "secret", 1), "model secret@v1 not found"),
        (lambda: versions(client, "bob", "secret"), "model secret not found"),
        (lambda: client.get_model("ana", "secret", 2), "model secret@v2 not found"),
        (lambda: client.get_model("ana", "nothing"), "model nothing not found"),
    ]:
        assert status_of(call) == (grpc.StatusCode.NOT_FOUND, message)
    assert client.get_model("bob", "shared").owner == "ana"
    assert client.get_model("bob", "pi").builtin


def test_visibility_is_per_version(client: Client) -> None:
    client.register("ana", "asian", sha("v1"), public=True)
    client.register("ana", "asian", sha("v2"), public=False)
    assert client.get_model("bob", "asian").version == 1
    assert versions(client, "bob", "asian") == [1]
    assert listed(client, "bob") == {"asian": 1}
    assert client.get_model("ana", "asian").version == 2


def test_a_name_belongs_to_its_first_pusher_and_built_in_names_are_reserved(
    client: Client,
) -> None:
    client.register("ana", "asian", sha("v1"))
    register_builtin(client, builtin("pi"))
    for name in ("asian", "pi"):
        code, details = status_of(partial(client.begin_registration, "bob", name, sha("b")))
        assert code is grpc.StatusCode.ALREADY_EXISTS
        assert details == f"the model name {name} is taken; push under another --name"
    # Even the same code: a name is not shared.
    code, _ = status_of(lambda: client.begin_registration("bob", "asian", sha("v1")))
    assert code is grpc.StatusCode.ALREADY_EXISTS
    # A name is claimed by its first push, before its registration ends.
    client.begin_registration("bob", "pending", sha("x"))
    assert status_of(lambda: client.begin_registration("ana", "pending", sha("y")))[0] is (
        grpc.StatusCode.ALREADY_EXISTS
    )
    # A built-in cannot take a pushed model's name either.
    code, details = status_of(lambda: register_builtin(client, builtin("asian")))
    assert code is grpc.StatusCode.ALREADY_EXISTS and "built-in" in details


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "9lives"}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"code_sha256": "ABC"}, "code_sha256"),
        ({"code_size": 0}, "code_size"),
        ({"entry": "missing.py"}, "entry"),
        ({"owner": ""}, "owner"),
    ],
)
def test_a_bad_registration_is_refused_naming_the_field(
    client: Client, fields: dict[str, Any], field: str
) -> None:
    request: dict[str, Any] = {"owner": "ana", "name": "asian", "code_sha256": sha("v1")}
    request.update(fields)
    code, details = status_of(
        lambda: client.begin_registration(
            request.pop("owner"), request.pop("name"), request.pop("code_sha256"), **request
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field}:")


def test_a_failed_registration_leaves_no_version(client: Client) -> None:
    job = client.begin_registration("ana", "broken", sha("b")).job
    client.start_shard(job.job_id, 0)
    failed = client.fail(job.job_id, 0, message="model.py:3: SyntaxError", source="model")
    assert failed.state == pb.JOB_STATE_FAILED
    assert status_of(lambda: client.get_model("ana", "broken"))[0] is grpc.StatusCode.NOT_FOUND
    assert "broken" not in listed(client, "")
    code, _ = status_of(lambda: client.complete_registration(job.job_id))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert status_of(lambda: client.get_model("", "broken"))[0] is grpc.StatusCode.NOT_FOUND
    # The name stays the pusher's: the next push (fixed code) registers version 1.
    assert client.register("ana", "broken", sha("fixed")).version == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: setattr(m, "kind", pb.MODEL_KIND_UNSPECIFIED), "model.kind"),
        (lambda m: setattr(m.parameters[0], "is_sample_count", False), "model.parameters"),
        (lambda m: setattr(m.parameters[1], "is_sample_count", True), "model.parameters"),
        (lambda m: setattr(m.parameters[0], "type", pb.PARAMETER_TYPE_FLOAT), "model.parameters"),
        (lambda m: setattr(m.parameters[1], "name", "no way"), "model.parameters[1].name"),
        (lambda m: setattr(m.parameters[1], "name", "samples"), "model.parameters"),
        (lambda m: setattr(m.parameters[1], "type", 99), "model.parameters[1].type"),
        (lambda m: m.parameters[2].ClearField("choices"), "model.parameters[2].choices"),
        (lambda m: setattr(m, "primary_output", "price"), "model.primary_output"),
        (lambda m: m.ClearField("outputs"), "model.outputs"),
        (lambda m: setattr(m, "block_size", 0), "model.block_size"),
        (lambda m: setattr(m, "description", "x" * 300_000), "model"),
        (lambda m: m.warnings.extend(["w"] * 1001), "model.warnings"),
        (lambda m: setattr(m, "runtime", "r" * 5000), "model.runtime"),
    ],
)
def test_an_inspection_that_is_not_sane_is_refused_and_registers_nothing(
    client: Client, change: Any, field: str
) -> None:
    """The inspection comes from a process that ran user code: it is checked, not trusted."""
    job = client.begin_registration("ana", "asian", sha("v1")).job
    client.start_shard(job.job_id, 0)
    model = inspected()
    change(model)
    code, details = status_of(lambda: client.complete_registration(job.job_id, model))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field}:")
    assert client.get(job.job_id).state == pb.JOB_STATE_RUNNING
    assert status_of(lambda: client.get_model("", "asian"))[0] is grpc.StatusCode.NOT_FOUND


def test_a_script_registers_without_a_schema(client: Client) -> None:
    script = pb.Model(title="Report", kind=pb.MODEL_KIND_SCRIPT, imports=["pandas"])
    model = client.register(
        "ana", "report", sha("r"), model=script, entry="run.py", files=["run.py"]
    )
    assert (model.kind, model.version, model.entry, list(model.imports)) == (
        pb.MODEL_KIND_SCRIPT,
        1,
        "run.py",
        ["pandas"],
    )
    job = client.begin_registration("ana", "report", sha("r2"), entry="run.py", files=["run.py"])
    client.start_shard(job.job.job_id, 0)
    code, details = status_of(
        lambda: client.complete_registration(job.job.job_id, inspected(kind=pb.MODEL_KIND_SCRIPT))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "script model has no parameters" in details


def test_concurrent_registrations_of_one_name_get_distinct_versions(client: Client) -> None:
    jobs = [client.begin_registration("ana", "asian", sha(f"v{i}")).job for i in range(8)]
    for job in jobs:
        client.start_shard(job.job_id, 0)
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda job: client.complete_registration(job.job_id), jobs))
    assert sorted(registered_version(job) for job in done) == list(range(1, 9))
    assert versions(client, "ana", "asian") == list(range(8, 0, -1))
    by_version = {registered_version(job): job.code_sha256 for job in done}
    for version, code_sha256 in by_version.items():
        assert client.get_model("ana", "asian", version).code_sha256 == code_sha256


def test_the_same_code_pushed_twice_at_once_is_one_version(client: Client) -> None:
    first = client.begin_registration("ana", "asian", sha("v1")).job
    second = client.begin_registration("ana", "asian", sha("v1")).job
    assert first.job_id != second.job_id
    for job in (first, second):
        client.start_shard(job.job_id, 0)
    summaries = [dict(client.complete_registration(j.job_id).summary) for j in (first, second)]
    assert summaries == [{"model": "asian", "version": 1}] * 2
    assert versions(client, "ana", "asian") == [1]


def test_a_registration_request_id_is_idempotent_per_owner(client: Client) -> None:
    first = client.begin_registration("ana", "asian", sha("v1"), request_id="push-1")
    again = client.begin_registration("ana", "asian", sha("v1"), request_id="push-1")
    assert again.job == first.job
    with ThreadPoolExecutor(8) as pool:
        racing = list(
            pool.map(
                lambda _: (
                    client.begin_registration(
                        "ana", "race", sha("r"), request_id="push-2"
                    ).job.job_id
                ),
                range(8),
            )
        )
    assert len(set(racing)) == 1
    code, details = status_of(
        lambda: client.begin_registration("ana", "asian", sha("v2"), request_id="push-1")
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS and "request_id 'push-1'" in details
    # A run's request_id is not a registration's.
    client.create(request_id="run-1")
    code, _ = status_of(
        lambda: client.begin_registration("ana", "asian", sha("v2"), request_id="run-1")
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS


def test_registration_jobs_are_hidden_from_their_owner(client: Client) -> None:
    run = client.create(owner="ana")
    registration = client.begin_registration("ana", "asian", sha("v1")).job
    jobs = client.call(
        "ListJobs", store_pb.ListJobsRequest(owner="ana", query=pb.ListJobsRequest())
    )
    assert [job.job_id for job in jobs.jobs] == [run.job_id]
    code, details = status_of(lambda: client.get(registration.job_id, owner="ana"))
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, f"job {registration.job_id} not found")
    cancel = store_pb.CancelJobRequest(owner="ana", job_id=registration.job_id)
    assert status_of(lambda: client.call("CancelJob", cancel))[0] is grpc.StatusCode.NOT_FOUND
    # Internal callers (the gateway waiting for it, the runner) see it.
    assert client.get(registration.job_id).kind == pb.JOB_KIND_REGISTRATION
    active = client.call("ListActiveJobs", store_pb.ListActiveJobsRequest()).jobs
    assert {job.job_id for job in active} == {run.job_id, registration.job_id}


def test_a_registration_job_completes_only_as_a_registration(client: Client) -> None:
    registration = client.begin_registration("ana", "asian", sha("v1")).job
    client.start_shard(registration.job_id, 0)
    code, details = status_of(lambda: client.complete(registration.job_id, {}))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "CompleteRegistration" in details
    run = client.create()
    client.start_shard(run.job_id, 0)
    code, details = status_of(lambda: client.complete_registration(run.job_id))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "not a registration" in details


def test_built_ins_register_idempotently_from_several_gateways(client: Client) -> None:
    with ThreadPoolExecutor(8) as pool:
        seeded = list(pool.map(lambda _: register_builtin(client, builtin()), range(8)))
    assert {model.version for model in seeded} == {1}
    first = seeded[0]
    assert (first.owner, first.builtin, first.block_size, first.entry) == ("", True, 0, "pi.py")
    assert register_builtin(client, builtin()) == first
    with ThreadPoolExecutor(8) as pool:
        changed = list(
            pool.map(lambda _: register_builtin(client, builtin(code="pi v2")), range(8))
        )
    assert {model.version for model in changed} == {2}
    assert versions(client, "", "pi") == [2, 1]
    assert client.get_model("bob", "pi").code_sha256 == sha("pi v2")


def test_only_the_platform_registers_built_ins(client: Client, worker_token: Any) -> None:
    job = client.create()
    request = store_pb.RegisterBuiltinModelRequest(model=builtin())
    code, _ = status_of(
        lambda: client.call("RegisterBuiltinModel", request, worker_token(job.job_id))
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED


def test_owners_racing_for_a_new_name_leave_it_to_one(client: Client) -> None:
    def push(owner: str) -> str:
        try:
            return client.begin_registration(owner, "contested", sha(owner)).job.owner
        except grpc.RpcError as error:
            assert error.code() is grpc.StatusCode.ALREADY_EXISTS
            return ""

    with ThreadPoolExecutor(8) as pool:
        winners = [owner for owner in pool.map(push, [f"user{i}" for i in range(8)]) if owner]
    assert len(winners) == 1
    assert client.register(winners[0], "contested", sha("again")).owner == winners[0]


def test_a_run_of_the_latest_version_is_refused_once_a_later_one_is_visible(
    client: Client,
) -> None:
    first = register_builtin(client, builtin("latest_pi", "pi v1"))
    client.create(model="latest_pi", model_version=first.version, latest=True)
    second = register_builtin(client, builtin("latest_pi", "pi v2"))
    assert second.version == first.version + 1
    code, details = status_of(
        lambda: client.create(model="latest_pi", model_version=first.version, latest=True)
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("latest: ") and f"(v{second.version})" in details
    # A version asked for by number stays runnable; the latest is.
    client.create(model="latest_pi", model_version=first.version)
    client.create(model="latest_pi", model_version=second.version, latest=True)
    # Another user's private version is not the latest anyone else sees.
    private = client.register("ana", "private_fit", sha("fit v1"), public=False)
    client.create(owner="ana", model="private_fit", model_version=private.version, latest=True)
    code, _ = status_of(
        lambda: client.create(
            owner="bob", model="private_fit", model_version=private.version, latest=True
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
