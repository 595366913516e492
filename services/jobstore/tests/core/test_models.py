"""The registry's rules without a database: model names, what a registration carries, and the
checks of an inspection (which comes from a process that ran user code)."""

from __future__ import annotations

import dataclasses

import pytest

from simlab.common.errors import Code, SimlabError
from simlab_jobstore.core.artifacts import ArtifactUpload, check_artifact_name
from simlab_jobstore.core.models import (
    Inspection,
    ModelKind,
    Parameter,
    Registration,
    check_name,
    check_owner,
)

REGISTRATION = Registration("ana", "asian", False, "ab" * 32, 100, "model.py", ("model.py",))
INSPECTION = Inspection(
    kind=ModelKind.BLOCKS,
    parameters=(
        Parameter("samples", "int", sample_count=True),
        Parameter("k", "choice", choices=("a",)),
    ),
    outputs=("value",),
    primary_output="value",
    reference_output="",
    block_size=10_000,
    imports=("numpy",),
    warnings=(),
    reproducible=True,
    runtime="local",
    schema=b"",
)


@pytest.mark.parametrize("name", ["a", "Asian-call_2", "x" * 64])
def test_good_names(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize("name", ["", "2x", "_x", "-x", "a b", "a.b", "a/b", "é", "x" * 65])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(SimlabError, match=r"^name:"):
        check_name(name)


def test_a_name_is_its_owners() -> None:
    check_owner("asian", "ana", "ana")
    with pytest.raises(SimlabError, match="taken; push under another --name") as taken:
        check_owner("asian", "ana", "bob")
    assert taken.value.code is Code.ALREADY_EXISTS
    with pytest.raises(SimlabError, match="taken"):
        check_owner("pi", "", "bob")
    with pytest.raises(SimlabError, match="the built-in cannot take it"):
        check_owner("asian", "ana", "")


def test_a_registration_names_its_entry_among_its_files() -> None:
    REGISTRATION.validate()
    with pytest.raises(SimlabError, match=r"^entry:"):
        dataclasses.replace(REGISTRATION, entry="other.py").validate()
    with pytest.raises(SimlabError, match=r"^files\[0\]:"):
        dataclasses.replace(REGISTRATION, files=("",)).validate()


def test_a_sane_inspection_passes_and_a_built_in_may_leave_blocks_to_its_code() -> None:
    INSPECTION.check()
    dataclasses.replace(INSPECTION, block_size=0).check(builtin=True)
    with pytest.raises(SimlabError, match=r"^model.block_size:"):
        dataclasses.replace(INSPECTION, block_size=0).check()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parameters": ()}, "model.parameters"),
        ({"parameters": (Parameter("samples", "float", sample_count=True),)}, "model.parameters"),
        (
            {"parameters": (*INSPECTION.parameters, Parameter("n", "int", sample_count=True))},
            "model.parameters",
        ),
        ({"parameters": (*INSPECTION.parameters, Parameter("x", ""))}, "model.parameters[2].type"),
        (
            {"parameters": (*INSPECTION.parameters, Parameter("c", "choice", choices=("a", "a")))},
            "model.parameters[2].choices",
        ),
        (
            {"parameters": (*INSPECTION.parameters, Parameter("c", "choice", choices=("",)))},
            "model.parameters[2].choices",
        ),
        (
            {"parameters": (*INSPECTION.parameters, Parameter("import", "int"))},
            "model.parameters[2].name",
        ),
        (
            {"parameters": (*INSPECTION.parameters, Parameter("x" * 65, "int"))},
            "model.parameters[2].name",
        ),
        ({"outputs": ("value", "value")}, "model.outputs"),
        ({"outputs": ("valeur€",)}, "model.outputs[0].name"),
        ({"schema": b"x" * (256 * 1024 + 1)}, "model"),
        ({"imports": ("x" * 4097,)}, "model.imports"),
        ({"kind": ModelKind.SCRIPT}, "model"),
    ],
)
def test_an_insane_inspection_is_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(SimlabError) as refused:
        dataclasses.replace(INSPECTION, **change).check()  # type: ignore[arg-type]
    assert refused.value.code is Code.INVALID_ARGUMENT
    assert refused.value.field == field


@pytest.mark.parametrize("name", ["a.txt", "plots/a.png", ".hidden", "a b/c-d_e.csv"])
def test_safe_artifact_names(name: str) -> None:
    check_artifact_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/abs",
        "a/../b",
        "..",
        "./a",
        "a//b",
        "a/",
        "a\\b",
        "a\nb",
        "manifest.json",
        "x/.staging-1/a",
        "x" * 1025,
    ],
)
def test_unsafe_artifact_names(name: str) -> None:
    with pytest.raises(SimlabError, match=r"^name:"):
        check_artifact_name(name)


def test_an_upload_is_bounded_in_bytes_and_files_and_needs_names() -> None:
    upload = ArtifactUpload(max_bytes=10, max_files=2)
    with pytest.raises(SimlabError, match=r"^data: the first file's data came before its name"):
        upload.add(1)
    upload.start("a")
    upload.add(10)
    with pytest.raises(SimlabError, match=r"^data: the artifacts exceed 10 bytes"):
        upload.add(1)
    with pytest.raises(SimlabError, match="sent twice"):
        upload.start("a")
    upload.start("b")
    with pytest.raises(SimlabError, match="at most 2 files"):
        upload.start("c")
