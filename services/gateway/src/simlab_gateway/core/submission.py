"""Turns a submission into a job the store can record: the model exists, the parameters fit
its schema, the shard count fits the run. Nothing is stored before this passes."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simlab.common.errors import invalid
from simlab.core.blocks import blocks_total
from simlab.core.params import validate
from simlab.models.base import Model

MAX_REQUEST_ID = 200


@dataclass(frozen=True)
class JobPlan:
    model: str
    parameters: dict[str, Any]
    seed: int
    shards: int
    primary_output: str
    block_size: int
    samples_total: int


def find_model(catalogue: Mapping[str, Model], name: str) -> Model:
    model = catalogue.get(name)
    if model is None:
        known = ", ".join(catalogue) or "none"
        raise invalid("model", f"unknown model {name!r} (known: {known})")
    return model


def plan_job(
    catalogue: Mapping[str, Model],
    max_shards: int,
    model_name: str,
    given: Mapping[str, Any],
    seed: int,
    shards: int,
    request_id: str,
) -> JobPlan:
    model = find_model(catalogue, model_name)
    parameters = validate(model, given)
    if len(request_id) > MAX_REQUEST_ID:
        raise invalid("request_id", f"must be at most {MAX_REQUEST_ID} characters")
    shards = shards or 1
    if shards < 1:
        raise invalid("shards", f"must be >= 1 (got {shards})")
    if shards > max_shards:
        raise invalid("shards", f"must be <= {max_shards}, the configured maximum (got {shards})")
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
        model=model.name,
        parameters=parameters,
        # A random seed is drawn here, so the job records the one it ran with.
        seed=seed or secrets.randbits(63),
        shards=shards,
        primary_output=model.primary_output,
        block_size=block_size,
        samples_total=samples,
    )
