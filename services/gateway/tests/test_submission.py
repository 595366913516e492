"""Submissions are checked before anything is stored; each error names its field."""

import pytest

from services.gateway.tests.fakes import CATALOGUE
from simlab.common.errors import Code, SimlabError
from simlab_gateway.core.submission import plan_job


def plan(**overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "model_name": "toy",
        "given": {"scale": 2.0},
        "seed": 7,
        "shards": 2,
        "request_id": "",
    }
    args.update(overrides)
    return plan_job(CATALOGUE, 8, **args)  # type: ignore[arg-type]


def field_of(**overrides: object) -> str | None:
    with pytest.raises(SimlabError) as caught:
        plan(**overrides)
    assert caught.value.code == Code.INVALID_ARGUMENT
    assert caught.value.message.startswith(f"{caught.value.field}: ")
    return caught.value.field


def test_a_valid_submission_is_planned_with_defaults_filled() -> None:
    job = plan()
    assert job.parameters == {"samples": 1000, "scale": 2.0}
    assert (job.seed, job.shards, job.block_size, job.samples_total) == (7, 2, 100, 1000)
    assert job.primary_output == "mean"


def test_seed_zero_draws_a_seed_that_the_job_records() -> None:
    assert plan(seed=0).seed > 0


def test_zero_shards_means_one() -> None:
    assert plan(shards=0).shards == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"model_name": "nope"}, "model"),
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
    ],
)
def test_bad_input_names_the_field(overrides: dict[str, object], field: str) -> None:
    assert field_of(**overrides) == field
