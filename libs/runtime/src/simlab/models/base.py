"""What a model is: a function that simulates one block, a typed parameter schema and a
description of its outputs. Analysts add models by exposing a `Model` under the
`simlab.models` entry-point group (see README)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from simlab.core.stats import Stats

ParamType = Literal["float", "int", "choice", "bool"]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    type: ParamType
    # None makes the parameter required.
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    unit: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()
    # Exactly one parameter per model counts the samples; it decides blocks and progress.
    sample_count: bool = False


@dataclass(frozen=True)
class Output:
    name: str
    label: str
    unit: str = ""
    help: str = ""


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    description: str
    parameters: tuple[Param, ...]
    outputs: tuple[Output, ...]
    # An output whose estimate is the mean of `Stats.moments[primary_output]`: it streams
    # live as estimate ± standard error.
    primary_output: str
    # Samples per block, given the validated parameters.
    block_size: Callable[[Params], int]
    # Draws `n` samples of one block from `rng`; returns that block's statistics.
    simulate: Callable[[Params, np.random.Generator, int], Stats]
    # The run's summary (JSON-able numbers) from the statistics of every block, merged.
    summarize: Callable[[Params, Stats], dict[str, Any]]
    # Columns (equal-length 1-D arrays) written to data.csv and data.npz.
    data: Callable[[Params, Stats], dict[str, np.ndarray]] = field(default=lambda params, stats: {})
    # Checks that span several parameters (e.g. a stable queue); raises
    # simlab.common.errors.invalid(...) naming the field. Runs after each field is validated.
    check: Callable[[Params], None] = field(default=lambda params: None)
    # The summary entry holding the closed-form value of the primary output, if there is one:
    # charts draw it as a reference line.
    reference: str | None = None

    @property
    def sample_param(self) -> Param:
        return next(p for p in self.parameters if p.sample_count)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.parameters if p.name == name), None)
