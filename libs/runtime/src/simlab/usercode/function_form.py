"""A function-form model: `simulate(rng, n, *, ...)` returning n samples (a 1-D array, or a
dict of equal-length 1-D arrays whose first entry is the primary output) becomes a
simlab Model. The platform computes every statistic itself: per block the exact moments of
each output and a histogram of the primary output over a range fixed by a deterministic pilot
run, so merged results are bit-identical whichever shard ran which block."""

from __future__ import annotations

import contextlib
import functools
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from simlab.core.stats import Histogram, Moments, Stats
from simlab.models.base import Model, Output, Param, Params
from simlab.usercode.schema import SAMPLES, Signature

DEFAULT_SAMPLES = 1_000_000
DEFAULT_BLOCK_SIZE = 10_000
# The output name of a simulate that returns one array.
SINGLE_OUTPUT = "value"
HISTOGRAM_BINS = 50
PILOT_SAMPLES = 2_000
# The pilot's random stream: a spawn key no block uses (blocks use 0, 1, 2, ...).
PILOT_SPAWN_KEY = 2**63
# The pilot's [min, max] grows by this share of its width (half on each side).
PILOT_WIDEN = 0.10
Z_95 = 1.959963984540054
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SUFFIXES = ("_stderr", "_ci95")

UserFunction = Callable[..., Any]


class ShapeError(ValueError):
    """simulate returned something other than n samples."""


def outputs_of(result: Any, n: int) -> dict[str, np.ndarray]:
    """simulate's return value as named float64 columns of n samples, or ShapeError."""
    if isinstance(result, Mapping):
        if not result:
            raise _shape_error("an empty dict")
        columns = {}
        for key, value in result.items():
            if not isinstance(key, str) or not _OUTPUT_NAME.match(key):
                raise _shape_error(f"a dict with key {key!r}; keys must be Python-style names")
            columns[key] = _column(value, n, f"a dict whose {key!r} is ")
        return columns
    return {SINGLE_OUTPUT: _column(result, n, "")}


def _column(value: Any, n: int, prefix: str) -> np.ndarray:
    if not isinstance(value, list | tuple) and not hasattr(value, "__array__"):
        raise _shape_error(f"{prefix}{type(value).__name__}")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise _shape_error(f"{prefix}an array of dtype {array.dtype}")
    if array.shape != (n,):
        raise _shape_error(f"{prefix}an array of shape {array.shape} for n={n}")
    return array.astype(np.float64, copy=False)


def _shape_error(got: str) -> ShapeError:
    return ShapeError(
        f"simulate must return a 1-D array of n samples or a dict of them (got {got})"
    )


def check_output_names(names: Sequence[str]) -> None:
    """The summary holds <name>, <name>_stderr, <name>_ci95 and samples: no two may clash."""
    keys = [SAMPLES, *(f"{name}{suffix}" for name in names for suffix in ("", *_SUFFIXES))]
    clashes = sorted({key for key in keys if keys.count(key) > 1})
    if clashes:
        raise ShapeError(
            f"simulate's outputs {', '.join(names)} clash in the summary on {', '.join(clashes)} "
            f"(it also holds <output>_stderr, <output>_ci95 and {SAMPLES})"
        )


def label(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def call_arguments(parameters: Sequence[Param], params: Params) -> dict[str, Any]:
    """The user's keyword arguments from validated parameters (the job store holds every number
    as a float: int parameters get ints)."""
    arguments: dict[str, Any] = {}
    for p in parameters:
        value = params[p.name]
        if p.type == "int":
            value = int(value)
        elif p.type == "float":
            value = float(value)
        arguments[p.name] = value
    return arguments


def build(
    name: str,
    title: str,
    description: str,
    function: UserFunction,
    signature: Signature,
    outputs: Sequence[str],
    samples_default: int,
    block_size: int,
) -> Model:
    """The Model; `outputs` are the names simulate returns (the first is primary)."""
    primary = outputs[0]
    parameters = signature.parameters

    def block_rule(params: Params) -> int:
        return min(int(params[SAMPLES]), block_size)

    @functools.lru_cache(maxsize=8)
    def histogram_range(entropy: Any, frozen: tuple[tuple[str, Any], ...]) -> tuple[float, float]:
        params = dict(frozen)
        rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(PILOT_SPAWN_KEY,)))
        )
        n = min(block_rule(params), PILOT_SAMPLES)
        with _seeded_globals():
            pilot = outputs_of(function(rng, n, **call_arguments(parameters, params)), n)
        return _widened(pilot[primary])

    def simulate(params: Params, rng: np.random.Generator, n: int) -> Stats:
        columns = outputs_of(function(rng, n, **call_arguments(parameters, params)), n)
        if list(columns) != list(outputs):
            raise ShapeError(
                f"simulate returned outputs {', '.join(columns)}; "
                f"the model was registered with {', '.join(outputs)}"
            )
        lo, hi = histogram_range(_entropy(rng), tuple(sorted(params.items())))
        return Stats(
            samples=n,
            moments={key: Moments.of(column) for key, column in columns.items()},
            histograms={primary: Histogram.of(columns[primary], lo, hi, HISTOGRAM_BINS)},
        )

    def summarize(params: Params, stats: Stats) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for output in outputs:
            moments = stats.moments[output]
            half_width = Z_95 * moments.stderr
            summary[output] = moments.mean
            summary[f"{output}_stderr"] = moments.stderr
            summary[f"{output}_ci95"] = [moments.mean - half_width, moments.mean + half_width]
        summary[SAMPLES] = stats.samples
        return summary

    def data(params: Params, stats: Stats) -> dict[str, np.ndarray]:
        histogram = stats.histograms[primary]
        edges = histogram.edges
        return {
            "bin_lo": edges[:-1],
            "bin_hi": edges[1:],
            "count": np.array(histogram.counts, dtype=np.int64),
        }

    samples = Param(
        SAMPLES,
        "Samples",
        "int",
        default=samples_default,
        minimum=1,
        unit="samples",
        help=f"Samples to draw, in blocks of {block_size:,}. "
        "The standard error shrinks as 1/√samples.",
        sample_count=True,
    )
    return Model(
        name=name,
        title=title,
        description=description,
        parameters=(*parameters, samples),
        outputs=tuple(_outputs(outputs)),
        primary_output=primary,
        block_size=block_rule,
        simulate=simulate,
        summarize=summarize,
        data=data,
    )


def _outputs(names: Sequence[str]) -> list[Output]:
    described = []
    for name in names:
        text = label(name)
        described += [
            Output(
                name,
                text,
                help="Mean of the samples; its histogram is in data.csv."
                if name == names[0]
                else "Mean of the samples.",
            ),
            Output(f"{name}_stderr", f"{text}: standard error"),
            Output(f"{name}_ci95", f"{text}: 95 % confidence interval"),
        ]
    described.append(Output(SAMPLES, "Samples", "samples", "Samples drawn."))
    return described


def _entropy(rng: np.random.Generator) -> Any:
    """The run's seed, read from a block's stream (blocks draw from SeedSequence(seed,
    spawn_key=(block,))): the pilot then depends on the seed but not on the block."""
    seed_sequence = getattr(rng.bit_generator, "seed_seq", None)
    if isinstance(seed_sequence, np.random.SeedSequence):
        entropy = seed_sequence.entropy
        return tuple(entropy) if isinstance(entropy, list | np.ndarray) else entropy
    return 0


def _widened(samples: np.ndarray) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    margin = (hi - lo) * PILOT_WIDEN / 2 or max(abs(lo) * PILOT_WIDEN / 2, 0.5)
    return lo - margin, hi + margin


@contextlib.contextmanager
def _seeded_globals() -> Iterator[None]:
    """Seeds NumPy's and Python's global generators for the pilot and restores them after, so
    code drawing from them still gets the same histogram range in every shard."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    np.random.seed(0)
    random.seed(0)
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
