"""Turns a submission into a job the store can record: the parameters fit the model version's
schema (a script's are any JSON object), the shard count fits the run, a precision target is
one the stopping rule can use (blocks models only). Nothing is stored before this passes."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab.common.errors import invalid
from simlab.core.blocks import blocks_total
from simlab.core.params import validate
from simlab.core.precision import Precision
from simlab.models.base import Model
from simlab.transport.precision import precision_from_proto
from simlab.v1 import simulation_pb2 as pb

MAX_REQUEST_ID = 200
# A script's parameters reach it as one environment variable (SIMLAB_PARAMS).
MAX_SCRIPT_PARAMETERS_BYTES = 64 * 1024
MAX_SCRIPT_ARGS = 256
# Far deeper than any form; a bound for every walk over the values.
MAX_PARAMETER_DEPTH = 32


@dataclass(frozen=True)
class JobPlan:
    model: str
    parameters: dict[str, Any]
    seed: int
    shards: int
    primary_output: str
    block_size: int
    samples_total: int
    # The code that runs: version `model_version` of `model`, whose bundle is `code_sha256`.
    model_version: int = 0
    code_sha256: str = ""
    args: tuple[str, ...] = ()
    # Stop at this target; samples_total is then the budget.
    precision: Precision | None = None
    # Run even when the result of a finished run with the same fingerprint could be reused.
    no_cache: bool = False
    # A top-up of this finished run: its blocks that are the same in this one are reused.
    extends: str = ""
    # Asked for the model's latest version: the job store refuses the plan if model_version no
    # longer is (CreateJobRequest.latest).
    latest: bool = False


@dataclass(frozen=True)
class Runnable:
    """A model version resolved for a run."""

    name: str
    version: int
    code_sha256: str
    # What validates the parameters and decides the block size; None: a script, whose
    # parameters are any JSON object.
    schema: Model | None
    # Resolved as the model's latest version (a reference without @vN).
    latest: bool = False


def check_values(value: Any, field: str = "parameters", depth: int = 0) -> None:
    """INVALID_ARGUMENT naming the parameter if `value` holds what JSON (and the job store's
    JSON columns) cannot: NaN, an infinity (1e400 parses as one), a NUL character, or
    nesting deeper than MAX_PARAMETER_DEPTH."""
    if depth > MAX_PARAMETER_DEPTH:
        raise invalid(field, f"nested more than {MAX_PARAMETER_DEPTH} levels deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid(field, f"must be a finite number, got {value}")
    if isinstance(value, str) and "\0" in value:
        raise invalid(field, "must not contain NUL characters")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if "\0" in key:
                raise invalid(field, "a name must not contain NUL characters")
            check_values(item, f"{field}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_values(item, f"{field}[{i}]", depth + 1)


def check_parameters(runnable: Runnable, given: Mapping[str, Any]) -> dict[str, Any]:
    """The complete parameter set, or INVALID_ARGUMENT naming the field."""
    check_values(given)
    if runnable.schema is not None:
        return validate(runnable.schema, given)
    size = len(json.dumps(given, separators=(",", ":")).encode())
    if size > MAX_SCRIPT_PARAMETERS_BYTES:
        raise invalid(
            "parameters",
            f"a script's parameters must be at most {MAX_SCRIPT_PARAMETERS_BYTES} bytes of JSON "
            f"(got {size}); put larger inputs in files of the bundle (--include)",
        )
    return dict(given)


def random_seed() -> int:
    """A random nonzero 63-bit seed: drawn here, so that a run records the one it ran with."""
    return secrets.randbits(63) or 1


def check_request_id(request_id: str) -> str:
    if len(request_id) > MAX_REQUEST_ID:
        raise invalid("request_id", f"must be at most {MAX_REQUEST_ID} characters")
    if "\0" in request_id:
        raise invalid("request_id", "must not contain NUL characters")
    return request_id


def shard_count(shards: int, max_shards: int) -> int:
    """The shards asked for (0: one), or INVALID_ARGUMENT when beyond the configured maximum."""
    shards = shards or 1
    if shards < 1:
        raise invalid("shards", f"must be >= 1 (got {shards})")
    if shards > max_shards:
        raise invalid("shards", f"must be <= {max_shards}, the configured maximum (got {shards})")
    return shards


def plan_job(
    runnable: Runnable,
    max_shards: int,
    given: Mapping[str, Any],
    seed: int,
    shards: int,
    request_id: str,
    args: Sequence[str] = (),
    precision: pb.Precision | None = None,
    no_cache: bool = False,
    extends: str = "",
) -> JobPlan:
    parameters = check_parameters(runnable, given)
    check_request_id(request_id)
    shards = shard_count(shards, max_shards)
    seed = seed or random_seed()
    model = runnable.schema
    if model is None:
        if shards != 1:
            raise invalid("shards", f"a script runs in one process: must be 1 (got {shards})")
        if len(args) > MAX_SCRIPT_ARGS:
            raise invalid("args", f"must be at most {MAX_SCRIPT_ARGS} (got {len(args)})")
        if precision is not None:
            raise invalid(
                "precision",
                f"a precision target stops a run between blocks; {runnable.name} is a script",
            )
        return JobPlan(
            model=runnable.name,
            parameters=parameters,
            seed=seed,
            shards=1,
            # No blocks: its progress is what it reports (simlab.report).
            primary_output="",
            block_size=0,
            samples_total=0,
            model_version=runnable.version,
            code_sha256=runnable.code_sha256,
            args=tuple(args),
            no_cache=no_cache,
            latest=runnable.latest,
        )
    if args:
        raise invalid("args", f"only a script takes arguments; {runnable.name} runs in blocks")
    samples = int(parameters[model.sample_param.name])
    block_size = model.block_size(parameters)
    blocks = blocks_total(samples, block_size)
    if shards > blocks:
        raise invalid(
            "shards",
            f"must be <= {blocks}: the run has {blocks} block(s) of {block_size} samples "
            f"(got {shards})",
        )
    return JobPlan(
        model=runnable.name,
        parameters=parameters,
        seed=seed,
        shards=shards,
        primary_output=model.primary_output,
        block_size=block_size,
        samples_total=samples,
        model_version=runnable.version,
        code_sha256=runnable.code_sha256,
        precision=None if precision is None else precision_from_proto(precision),
        no_cache=no_cache,
        extends=extends,
        latest=runnable.latest,
    )
