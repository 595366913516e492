"""Submissions are checked before anything is stored; each error names its field."""

import pytest

from services.gateway.tests.fakes import TOY
from simlab.common.errors import Code, SimlabError
from simlab_gateway.core.submission import (
    MAX_SCRIPT_ARGS,
    MAX_SCRIPT_PARAMETERS_BYTES,
    JobPlan,
    Runnable,
    plan_job,
)

TOY_V3 = Runnable("toy", 3, "a" * 64, TOY)
SCRIPT = Runnable("fit", 2, "b" * 64, None)


def plan(runnable: Runnable = TOY_V3, **overrides: object) -> JobPlan:
    args: dict[str, object] = {
        "given": {"scale": 2.0},
        "seed": 7,
        "shards": 2,
        "request_id": "",
    }
    args.update(overrides)
    return plan_job(runnable, 8, **args)  # type: ignore[arg-type]


def field_of(runnable: Runnable = TOY_V3, **overrides: object) -> str | None:
    with pytest.raises(SimlabError) as caught:
        plan(runnable, **overrides)
    assert caught.value.code == Code.INVALID_ARGUMENT
    assert caught.value.message.startswith(f"{caught.value.field}: ")
    return caught.value.field


def test_a_valid_submission_is_planned_with_defaults_filled_and_its_code_named() -> None:
    job = plan()
    assert job.parameters == {"samples": 1000, "scale": 2.0}
    assert (job.seed, job.shards, job.block_size, job.samples_total) == (7, 2, 100, 1000)
    assert job.primary_output == "mean"
    assert (job.model, job.model_version, job.code_sha256, job.args) == ("toy", 3, "a" * 64, ())


def test_seed_zero_draws_a_seed_that_the_job_records() -> None:
    assert plan(seed=0).seed > 0


def test_zero_shards_means_one() -> None:
    assert plan(shards=0).shards == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"given": {}}, "parameters.scale"),
        ({"given": {"scale": 1.0, "extra": 1}}, "parameters.extra"),
        ({"given": {"scale": 0.0}}, "parameters.scale"),
        ({"given": {"scale": "big"}}, "parameters.scale"),
        ({"given": {"scale": 1.0, "samples": 0}}, "parameters.samples"),
        ({"given": {"scale": 1.0, "samples": 10.5}}, "parameters.samples"),
        ({"shards": 9}, "shards"),
        ({"shards": -1}, "shards"),
        # 1000 samples in blocks of 100: at most 10 shards have work.
        ({"given": {"scale": 1.0, "samples": 150}, "shards": 3}, "shards"),
        ({"request_id": "x" * 201}, "request_id"),
        ({"args": ["--fast"]}, "args"),
    ],
)
def test_bad_input_names_the_field(overrides: dict[str, object], field: str) -> None:
    assert field_of(TOY_V3, **overrides) == field


def test_a_script_takes_any_json_object_and_arguments_in_one_process() -> None:
    given = {"x0": [1.5, -2], "method": "nelder-mead", "nested": {"ok": True}}
    job = plan(SCRIPT, given=given, shards=0, args=["--plot", "out.png"])
    assert (job.model, job.model_version, job.code_sha256) == ("fit", 2, "b" * 64)
    assert job.parameters == given and job.args == ("--plot", "out.png")
    assert (job.shards, job.block_size, job.samples_total, job.primary_output) == (1, 0, 0, "")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"shards": 2}, "shards"),
        ({"shards": 1, "args": ["a"] * (MAX_SCRIPT_ARGS + 1)}, "args"),
        ({"shards": 1, "given": {"data": "x" * MAX_SCRIPT_PARAMETERS_BYTES}}, "parameters"),
    ],
)
def test_a_scripts_limits(overrides: dict[str, object], field: str) -> None:
    assert field_of(SCRIPT, **overrides) == field
    assert plan(SCRIPT, shards=1, args=["a"] * MAX_SCRIPT_ARGS).shards == 1
