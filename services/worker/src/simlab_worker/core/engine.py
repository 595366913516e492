"""The Monte Carlo engine: runs a job's blocks and turns the statistics of the blocks its
result merges (all of them, or those of its stop with a precision target) into the run's
results.

Block i always draws from its own random stream (simlab.core.blocks.block_rng) and blocks are
merged in block order, so the results are bit-identical whatever the number of shards."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.core.blocks import block_rng, block_samples, blocks_total, shard_blocks
from simlab.core.precision import Precision, Stop
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Params


class ModelError(Exception):
    """The model's own code failed; the original exception is the __cause__."""


@dataclass(frozen=True)
class Run:
    """What a job asks for: a model, its validated parameters and the block plan."""

    model: Model
    params: Params
    seed: int
    block_size: int
    # With a precision target: the budget.
    samples_total: int
    # The run stops where the job store decides this target is met (or the budget runs out).
    precision: Precision | None = None

    @staticmethod
    def plan(model: Model, params: Params, seed: int, precision: Precision | None = None) -> Run:
        """The block plan the gateway records at submission."""
        return Run(
            model,
            params,
            seed,
            model.block_size(params),
            int(params[model.sample_param.name]),
            precision,
        )

    @property
    def blocks_total(self) -> int:
        return blocks_total(self.samples_total, self.block_size)

    def remaining_blocks(self, shard: int, shards: int, done: Collection[int]) -> list[int]:
        """This shard's blocks in order, less those already recorded (a relaunched shard)."""
        return [b for b in shard_blocks(shard, shards, self.blocks_total) if b not in done]


def run_block(run: Run, block: int) -> Stats:
    n = block_samples(block, run.samples_total, run.block_size)
    try:
        stats = run.model.simulate(run.params, block_rng(run.seed, block), n)
    except Exception as exc:
        raise ModelError(f"simulate failed on block {block}") from exc
    if not isinstance(stats, Stats) or run.model.primary_output not in stats.moments:
        problem = TypeError(
            f"{run.model.name}.simulate must return Stats with "
            f"moments[{run.model.primary_output!r}] (got {type(stats).__name__})"
        )
        raise ModelError("simulate returned no primary output") from problem
    return stats


def run_blocks(run: Run, blocks: Iterable[int]) -> Iterator[tuple[int, Stats]]:
    for block in blocks:
        yield block, run_block(run, block)


@dataclass(frozen=True)
class Convergence:
    """The running estimate of the primary output after each block, in block order."""

    samples: np.ndarray
    estimate: np.ndarray
    stderr: np.ndarray


@dataclass(frozen=True)
class Result:
    # JSON-able; numbers that are not finite (e.g. a standard error of one sample) are None.
    summary: dict[str, Any]
    convergence: Convergence
    # Equal-length 1-D columns from the model, for data.csv and data.npz.
    data: dict[str, np.ndarray]
    # Every block merged in order: the histograms for the charts.
    stats: Stats
    # With a precision target: the half-width it asks for at the final estimate.
    target: float | None = None


def finalize(run: Run, blocks: Sequence[tuple[int, Stats]], stop: Stop | None = None) -> Result:
    """The run's results from the statistics of the blocks it merges (given in any order):
    every block, or with a precision target those of its `stop`, [first_block, end_block)."""
    if run.precision is not None and stop is None:
        raise ValueError("a run with a precision target finalizes once its stop is decided")
    first, end = (stop.first_block, stop.end_block) if stop else (0, run.blocks_total)
    if not 0 <= first < end <= run.blocks_total:
        raise ValueError(f"the stop's blocks {first}..{end - 1} are not within the run's")
    ordered = sorted(blocks, key=lambda pair: pair[0])
    indexes = [block for block, _ in ordered]
    if indexes != list(range(first, end)):
        missing = sorted(set(range(first, end)) - set(indexes))
        raise ValueError(
            f"finalize needs blocks {first}..{end - 1} once each; "
            f"missing {missing[:10]}, got {len(indexes)} blocks"
        )

    primary = run.model.primary_output
    merged = Stats()
    samples, estimate, stderr = [], [], []
    for _, stats in ordered:
        merged = merged.merge(stats)
        moments = merged.moments[primary]
        samples.append(merged.samples)
        estimate.append(moments.mean)
        stderr.append(moments.stderr)
    convergence = Convergence(
        np.array(samples, dtype=np.int64), np.array(estimate), np.array(stderr)
    )

    try:
        summary = run.model.summarize(run.params, merged)
        data = {
            name: np.asarray(column) for name, column in run.model.data(run.params, merged).items()
        }
    except Exception as exc:
        raise ModelError("summarize or data failed") from exc
    _check_columns(run.model, data)
    target = None
    if run.precision is not None and stop is not None:
        moments = merged.moments[primary]
        summary = {**summary, **_stopped(run.precision, stop, merged.samples, moments)}
        target = run.precision.tolerance(moments.mean)
    return Result(json_safe(summary), convergence, data, merged, target)


def _stopped(precision: Precision, stop: Stop, samples: int, primary: Moments) -> dict[str, Any]:
    """Where a run with a precision target stopped, and how precise its result is."""
    return {
        "stop_reason": stop.reason.value,
        "blocks_used": stop.end_block - stop.first_block,
        "samples_used": samples,
        "half_width": precision.half_width(primary),
        "confidence": precision.confidence,
        "target": precision.tolerance(primary.mean),
    }


def _check_columns(model: Model, data: dict[str, np.ndarray]) -> None:
    lengths = {name: column.shape for name, column in data.items()}
    if (
        any(len(shape) != 1 for shape in lengths.values())
        or len({shape for shape in lengths.values()}) > 1
    ):
        problem = ValueError(f"{model.name}.data must return equal-length 1-D columns: {lengths}")
        raise ModelError("data returned ragged columns") from problem


def json_safe(value: Any) -> Any:
    """Plain JSON values: NumPy scalars and arrays become numbers and lists, and numbers that
    JSON cannot carry (NaN, ±inf) become None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
