"""The model registry: global names, each owned by its first pusher (built-in names by no one),
and immutable versions 1, 2, ... of registered code. What a registration carries and what its
worker's inspection reports are checked here: the inspection comes from a process that ran
user code, so nothing in it is trusted to be well-formed."""

from __future__ import annotations

import enum
import keyword
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from simlab.common.errors import Code, SimlabError, invalid, not_found
from simlab.models.names import SHA256, check_name

MAX_FILES = 10_000
MAX_PATH_LENGTH = 1024
# The typed interface (labels, help, choices ...) as stored: a schema is a form, not a file.
MAX_SCHEMA_BYTES = 256 * 1024
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
MAX_CHOICES = 200
MAX_NOTES = 1000  # imports, warnings
MAX_TEXT_LENGTH = 4096  # an import, a warning, the runtime, a choice
MAX_IDENTIFIER_LENGTH = 64
PARAMETER_TYPES = ("float", "int", "choice", "bool")


class ModelKind(enum.Enum):
    # Runs in blocks: a typed schema, shards, live convergence.
    BLOCKS = "blocks"
    # `python ENTRY ARGS...` in one process: free-form parameters.
    SCRIPT = "script"


@dataclass(frozen=True)
class Registration:
    """Pushed code waiting for its inspection: the bundle (already stored) and under which
    name, for whom. `owner` is empty for a built-in model."""

    owner: str
    name: str
    public: bool
    code_sha256: str
    code_size: int
    entry: str
    files: tuple[str, ...]

    def validate(self) -> None:
        check_name(self.name)
        if not SHA256.fullmatch(self.code_sha256):
            raise invalid("code_sha256", "must be 64 lowercase hex digits")
        if self.code_size < 1:
            raise invalid("code_size", f"must be at least 1, got {self.code_size}")
        if len(self.files) > MAX_FILES:
            raise invalid("files", f"at most {MAX_FILES} files, got {len(self.files)}")
        for i, path in enumerate(self.files):
            if not path or len(path) > MAX_PATH_LENGTH:
                raise invalid(f"files[{i}]", f"must be 1 to {MAX_PATH_LENGTH} characters")
        if self.entry not in self.files:
            raise invalid("entry", f"{self.entry!r} is not one of the files")


@dataclass(frozen=True)
class Parameter:
    """What the checks need of one parameter of a schema."""

    name: str
    type: str  # one of PARAMETER_TYPES; "" for a type this store does not know
    sample_count: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inspection:
    """What inspecting the code found. `schema` is the typed interface as stored and served
    (title, description, parameters, outputs, primary_output, reference_output); the other
    fields are what the checks read of it."""

    kind: ModelKind
    parameters: tuple[Parameter, ...]
    outputs: tuple[str, ...]
    primary_output: str
    reference_output: str
    block_size: int
    imports: tuple[str, ...]
    warnings: tuple[str, ...]
    reproducible: bool
    runtime: str
    schema: bytes

    def check(self, *, builtin: bool = False) -> None:
        """Refuses an inspection that could not be run or shown, naming the field (a
        built-in's block size is its code's rule: 0)."""
        if len(self.schema) > MAX_SCHEMA_BYTES:
            raise invalid(
                "model", f"the schema takes {len(self.schema)} bytes; at most {MAX_SCHEMA_BYTES}"
            )
        _check_notes("model.imports", self.imports)
        _check_notes("model.warnings", self.warnings)
        _check_text("model.runtime", self.runtime)
        _check_text("model.reference_output", self.reference_output)
        if self.kind is ModelKind.SCRIPT:
            if self.parameters or self.outputs or self.primary_output:
                raise invalid(
                    "model", "a script model has no parameters, outputs or primary output"
                )
            return
        least = 0 if builtin else 1
        if self.block_size < least:
            raise invalid("model.block_size", f"must be at least {least}, got {self.block_size}")
        self._check_parameters()
        self._check_outputs()

    def _check_parameters(self) -> None:
        if len(self.parameters) > MAX_PARAMETERS:
            raise invalid(
                "model.parameters", f"at most {MAX_PARAMETERS}, got {len(self.parameters)}"
            )
        _check_identifiers("model.parameters", [p.name for p in self.parameters])
        for i, parameter in enumerate(self.parameters):
            field = f"model.parameters[{i}]"
            if parameter.type not in PARAMETER_TYPES:
                raise invalid(f"{field}.type", f"must be one of {', '.join(PARAMETER_TYPES)}")
            if parameter.type == "choice" and not parameter.choices:
                raise invalid(f"{field}.choices", "a choice needs at least one")
            if len(parameter.choices) > MAX_CHOICES:
                raise invalid(f"{field}.choices", f"at most {MAX_CHOICES}")
            if len(set(parameter.choices)) < len(parameter.choices):
                raise invalid(f"{field}.choices", "must not repeat")
            for choice in parameter.choices:
                if not choice:
                    raise invalid(f"{field}.choices", "must not be empty strings")
                _check_text(f"{field}.choices", choice)
        counts = [p for p in self.parameters if p.sample_count]
        if len(counts) != 1 or counts[0].type != "int":
            raise invalid("model.parameters", "exactly one int parameter must be the sample count")

    def _check_outputs(self) -> None:
        if not self.outputs:
            raise invalid("model.outputs", "a block model has at least one output")
        if len(self.outputs) > MAX_OUTPUTS:
            raise invalid("model.outputs", f"at most {MAX_OUTPUTS}, got {len(self.outputs)}")
        _check_identifiers("model.outputs", self.outputs)
        if self.primary_output not in self.outputs:
            raise invalid(
                "model.primary_output", f"{self.primary_output!r} is not one of the outputs"
            )


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    owner: str
    public: bool
    builtin: bool
    kind: ModelKind
    code_sha256: str
    code_size: int
    entry: str
    files: tuple[str, ...]
    imports: tuple[str, ...]
    warnings: tuple[str, ...]
    reproducible: bool
    runtime: str
    block_size: int
    schema: bytes
    created_at: datetime
    # The job that inspected the code; None for a built-in model.
    registration_job: str | None = None


def new_version(
    registration: Registration,
    inspection: Inspection,
    version: int,
    at: datetime,
    registration_job: str | None,
) -> ModelVersion:
    return ModelVersion(
        name=registration.name,
        version=version,
        owner=registration.owner,
        public=registration.public,
        builtin=registration_job is None,
        kind=inspection.kind,
        code_sha256=registration.code_sha256,
        code_size=registration.code_size,
        entry=registration.entry,
        files=registration.files,
        imports=inspection.imports,
        warnings=inspection.warnings,
        reproducible=inspection.reproducible,
        runtime=inspection.runtime,
        block_size=inspection.block_size,
        schema=inspection.schema,
        created_at=at,
        registration_job=registration_job,
    )


def check_owner(name: str, name_owner: str, owner: str) -> None:
    """Refuses to register under a name that someone else (or the platform: owner "") owns."""
    if name_owner != owner and not owner:
        raise SimlabError(
            Code.ALREADY_EXISTS,
            f"the model name {name} belongs to a pushed model: the built-in cannot take it",
            field="name",
        )
    if name_owner != owner:
        raise SimlabError(
            Code.ALREADY_EXISTS,
            f"the model name {name} is taken; push under another --name",
            field="name",
        )


def model_not_found(name: str, version: int = 0) -> SimlabError:
    """Also what an invisible model is: never PERMISSION_DENIED, which would tell it exists."""
    return not_found(f"model {name}@v{version}" if version else f"model {name}")


def _check_identifiers(field: str, names: Sequence[str]) -> None:
    for i, name in enumerate(names):
        if not (
            name.isidentifier()
            and name.isascii()
            and not keyword.iskeyword(name)
            and len(name) <= MAX_IDENTIFIER_LENGTH
        ):
            raise invalid(
                f"{field}[{i}].name",
                f"{name[:MAX_IDENTIFIER_LENGTH]!r} is not a Python identifier (nor keyword) of"
                f" at most {MAX_IDENTIFIER_LENGTH} ASCII characters",
            )
    if len(set(names)) < len(names):
        raise invalid(field, "names must not repeat")


def _check_notes(field: str, notes: Sequence[str]) -> None:
    if len(notes) > MAX_NOTES:
        raise invalid(field, f"at most {MAX_NOTES}, got {len(notes)}")
    for note in notes:
        _check_text(field, note)


def _check_text(field: str, text: str) -> None:
    if len(text) > MAX_TEXT_LENGTH:
        raise invalid(field, f"entries must be at most {MAX_TEXT_LENGTH} characters")
