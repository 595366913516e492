"""The model use cases with fake ports: reading as the caller may, pushing code (stored once,
registered by a job whose end is awaited), and seeding the built-in models."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from services.gateway.tests.fakes import (
    BUILTINS,
    TOY_CODE,
    FakeEvents,
    FakeJobStore,
    FakeObjects,
    fake_models,
    toy_version,
)
from simlab.bundle import Bundle
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.artifacts import bundle_key
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.models import Push, parse_ref

T = TypeVar("T")
ALICE = Principal("alice")
BOB = Principal("bob")
VIEWER = Principal("alice", shared_job="job1")
FIT = {"fit.py": b"def simulate(rng, n):\n    return rng.random(n)\n", "helpers.py": b"X = 1\n"}
CODE = Bundle("fit.py", FIT)
# What the sandboxed worker found in the code.
INSPECTED = pb.Model(title="Fit", kind=pb.MODEL_KIND_BLOCKS, block_size=10_000)


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


def refusal(call: Coroutine[Any, Any, object]) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        run(call)
    return caught.value


def push(**overrides: Any) -> Push:
    fields: dict[str, Any] = {
        "name": "fit",
        "entry": "fit.py",
        "files": FIT,
        "executable": frozenset(),
        "sha256": "",
        "public": False,
    }
    return Push(**{**fields, **overrides})


def stores() -> tuple[FakeJobStore, FakeObjects]:
    store = FakeJobStore(registration_outcome=INSPECTED)
    store.add_model(toy_version(1))
    store.add_model(pb.Model(name="private", version=1, owner="bob"))
    store.add_model(pb.Model(name="shared", version=1, owner="bob", public=True))
    return store, FakeObjects()


def test_seeding_stores_each_builtins_code_once_and_registers_it() -> None:
    store, objects = FakeJobStore(), FakeObjects()
    models = fake_models(store, objects)
    run(models.seed())
    run(models.seed())
    assert objects.puts == [bundle_key(TOY_CODE.sha256)]
    assert objects.objects[bundle_key(TOY_CODE.sha256)] == TOY_CODE.archive()
    [toy] = store.models
    assert (toy.name, toy.version, toy.builtin, toy.code_sha256) == (
        "toy",
        1,
        True,
        TOY_CODE.sha256,
    )
    assert toy.entry == "toy.py" and list(toy.files) == ["toy.py"]
    assert store.calls == ["register_builtin_model"] * 2


def test_models_are_read_as_the_caller() -> None:
    store, objects = stores()
    models = fake_models(store, objects)
    assert [m.name for m in run(models.visible(ALICE))] == ["shared", "toy"]
    assert [m.name for m in run(models.visible(BOB))] == ["private", "shared", "toy"]
    assert run(models.get(BOB, "private@v1")).owner == "bob"
    assert refusal(models.get(ALICE, "private")).code == Code.NOT_FOUND
    assert [m.version for m in run(models.versions(ALICE, "toy"))] == [1]
    assert refusal(models.get(ALICE, "toy@1")).field == "model"


def test_a_share_link_reads_only_the_model_its_run_used() -> None:
    store, objects = stores()
    store.add("bob", pb.Job(job_id="job1", model="private", model_version=1))
    models = fake_models(store, objects)
    viewer = Principal("bob", shared_job="job1")
    assert [m.name for m in run(models.visible(viewer))] == ["private"]
    assert run(models.get(viewer, "private@v1")).owner == "bob"
    assert run(models.get(viewer, "private")).version == 1
    assert refusal(models.get(viewer, "toy")).code == Code.PERMISSION_DENIED
    assert refusal(models.versions(viewer, "private")).code == Code.PERMISSION_DENIED
    assert refusal(models.push(viewer, push())).code == Code.PERMISSION_DENIED


def test_a_push_stores_the_bundle_and_answers_with_the_registered_version() -> None:
    store, objects = stores()
    models = fake_models(store, objects)
    model, created = run(models.push(ALICE, push(sha256=CODE.sha256, public=True)))
    assert created and (model.name, model.version, model.owner) == ("fit", 1, "alice")
    assert (model.title, model.code_sha256, model.public) == ("Fit", CODE.sha256, True)
    assert objects.objects[bundle_key(CODE.sha256)] == CODE.archive()
    [(owner, registration)] = store.registrations
    assert owner == "alice"
    assert (registration.code_sha256, registration.code_size) == (CODE.sha256, CODE.size)
    assert (registration.entry, registration.files) == ("fit.py", ("fit.py", "helpers.py"))
    # Unchanged code, sent by its hash alone: nothing is stored or registered again.
    again, created = run(models.push(ALICE, push(files={}, sha256=CODE.sha256)))
    assert (again, created) == (model, False)
    assert objects.puts == [bundle_key(CODE.sha256)]


def test_a_push_by_hash_alone_registers_the_stored_bundle() -> None:
    store, objects = stores()
    objects.objects[bundle_key(CODE.sha256)] = CODE.archive()
    model, created = run(
        fake_models(store, objects).push(ALICE, push(files={}, sha256=CODE.sha256))
    )
    assert created and model.entry == "fit.py"
    assert store.registrations[0][1].files == ("fit.py", "helpers.py")


def test_a_bundle_that_is_not_stored_must_be_sent() -> None:
    store, objects = stores()
    models = fake_models(store, objects)
    error = refusal(models.push(ALICE, push(files={}, sha256=CODE.sha256)))
    assert error.code == Code.NOT_FOUND
    assert error.message == f"bundle {CODE.sha256} is not stored; send its files"
    assert refusal(models.push(ALICE, push(files={}, sha256="nope"))).field == "sha256"
    assert store.registrations == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "1fit"}, "name"),
        ({"name": "fit.py"}, "name"),
        ({"name": "f" * 65}, "name"),
        ({"entry": "missing.py"}, "files"),
        ({"files": {**FIT, ".env": b"SECRET=1"}}, "files"),
        ({"files": {**FIT, "big.bin": b"x" * 1000}}, "files"),
        ({"sha256": "0" * 64}, "sha256"),
    ],
)
def test_bad_code_is_refused_before_anything_is_stored(
    overrides: dict[str, Any], field: str
) -> None:
    store, objects = stores()
    error = refusal(fake_models(store, objects).push(ALICE, push(**overrides)))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, field)
    assert objects.puts == [] and store.registrations == []


def test_only_the_configured_authors_may_push() -> None:
    store, objects = stores()
    models = fake_models(store, objects, authors=frozenset({"alice"}))
    assert run(models.push(ALICE, push()))[1]
    error = refusal(models.push(BOB, push(name="other")))
    assert error.code == Code.PERMISSION_DENIED and "SIMLAB_GATEWAY_AUTHORS" in error.message


def test_a_name_another_user_owns_is_taken() -> None:
    store, objects = stores()
    assert refusal(fake_models(store, objects).push(ALICE, push(name="private"))).code == (
        Code.ALREADY_EXISTS
    )


def test_a_failed_registration_answers_with_the_workers_message_about_the_code() -> None:
    store, objects = stores()
    store.registration_outcome = pb.JobError(
        message="fit.py:3: parameter 'steps': annotation list[int] is not float, int, bool",
        traceback="Traceback ...",
        source="model",
    )
    error = refusal(fake_models(store, objects).push(ALICE, push()))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, "code")
    assert error.description == store.registration_outcome.message
    assert [m.name for m in store.models if m.name == "fit"] == []


def test_the_push_waits_for_the_registration_jobs_end_event() -> None:
    store, objects = stores()
    store.registration_ends = False
    ended = pb.Job(job_id="reg1", seq=2, state=pb.JOB_STATE_SUCCEEDED)
    ended.summary.update({"model": "fit", "version": 1})
    store.add_model(pb.Model(name="fit", version=1, owner="alice", title="Fit"))
    events = FakeEvents(store.calls, [pb.JobEvent(job_id="reg1", seq=2, job=ended)])
    model, created = run(fake_models(store, objects, events).push(ALICE, push()))
    assert created and model.title == "Fit"
    assert store.calls[-4:] == ["begin_registration", "subscribe", "get_job", "get_model"]


def test_a_registration_that_does_not_end_in_time_is_unavailable() -> None:
    store, objects = stores()
    store.registration_ends = False
    models = fake_models(store, objects, registration_timeout_s=0.05)
    error = refusal(models.push(ALICE, push()))
    assert error.code == Code.UNAVAILABLE and "did not end within 0.05 s" in error.message


def test_a_version_resolves_with_what_validates_its_runs() -> None:
    store, objects = stores()
    store.add_model(toy_version(2, code_sha256="0" * 64, block_size=50))
    store.add_model(pb.Model(name="script", version=1, owner="alice", kind=pb.MODEL_KIND_SCRIPT))
    models = fake_models(store, objects)
    current = run(models.runnable("alice", "toy@v1"))
    assert current.schema is BUILTINS["toy"].model and current.version == 1
    older = run(models.runnable("alice", "toy"))
    assert older.version == 2 and older.schema is not None
    assert older.schema.block_size({"samples": 30}) == 30
    assert older.schema.block_size({"samples": 3000}) == 50
    assert run(models.runnable("alice", "script")).schema is None
    assert refusal(models.runnable("bob", "script")).field == "model"


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [("pi", ("pi", 0)), ("pi@v12", ("pi", 12)), ("my-model_2@v1", ("my-model_2", 1))],
)
def test_model_references(ref: str, parsed: tuple[str, int]) -> None:
    assert parse_ref(ref) == parsed


@pytest.mark.parametrize("ref", ["", "pi@", "pi@v", "pi@v0", "pi@1", "@v1", "pi@v1@v2", "2pi"])
def test_bad_model_references_name_the_field(ref: str) -> None:
    with pytest.raises(SimlabError) as caught:
        parse_ref(ref)
    assert caught.value.field == "model"
