"""End to end on the embedded stack: studies give the right numbers. A grid study runs every
combination of its axes with the parameters and seeds it expanded, each price within 4 standard
errors of Black-Scholes, and opens as a DataFrame; common random numbers make the difference of
neighbouring strikes far more precise than independent seeds (ComparePoints); bad sweeps name
the field; the CLI submits, waits and writes the results CSV."""

from __future__ import annotations

import csv
import io
import itertools
import math
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

import simlab
from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack
from simlab.handles import Study
from simlab.models.european_option import black_scholes
from simlab.transport.errors import from_grpc
from simlab.transport.structs import struct_to_dict
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import running_stack
from tests.test_e2e_cli import as_json
from tests.test_e2e_cli import simlab as simlab_cli

pytestmark = pytest.mark.e2e
# Every parameter of the option but the swept ones.
OPTION = {"spot": 100, "rate": 0.05, "maturity": 1, "option_type": "call"}
Z95 = 1.959964


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("study"), SIMLAB_RUNNER_MAX_WORKERS="2")


def bs_price(**params: Any) -> float:
    return black_scholes({**OPTION, "volatility": 0.2, **params})[0]


def within_4_se(point: pb.StudyPoint, expected: float) -> bool:
    return abs(point.progress.estimate - expected) <= 4 * point.progress.stderr


def finished(study: Study) -> pb.Study:
    done = study.wait(progress=False).info
    assert done.state == pb.STUDY_STATE_SUCCEEDED, [
        (p.index, p.error) for p in study.points() if p.error
    ]
    return done


@pytest.mark.timeout(300)
def test_a_grid_study_runs_every_combination_with_its_own_seed(alice: Client) -> None:
    strikes, volatilities = [95, 105], [0.1, 0.2, 0.3]
    study = alice.study(
        "european_option",
        params={**OPTION, "paths": 200_000},
        sweep={"strike": strikes, "volatility": simlab.range(0.1, 0.3, 3)},
        seed=41,
    )
    done = finished(study)
    assert (done.points, list(done.swept), done.spec.seed) == (6, ["strike", "volatility"], 41)
    assert done.counts == pb.StudyCounts(succeeded=6)
    assert done.samples_done == done.samples_total == 6 * 200_000
    assert done.HasField("ended_at") and done.model_version >= 1
    assert done.primary_output == "price"

    points = study.points()
    assert [p.index for p in points] == list(range(6))
    # The Cartesian product, first axis slowest; fixed parameters at every point.
    for point, (strike, volatility) in zip(
        points, itertools.product(strikes, volatilities), strict=True
    ):
        params = struct_to_dict(point.parameters)
        assert params["strike"] == strike
        assert params["volatility"] == pytest.approx(volatility, rel=1e-12)
        assert {k: params[k] for k in OPTION} == OPTION and params["paths"] == 200_000
        assert point.state == pb.JOB_STATE_SUCCEEDED
        expected = bs_price(strike=strike, volatility=volatility)
        assert within_4_se(point, expected), (strike, volatility, point.progress, expected)
    # Independent seeds: one per point, derived from the study's, never the study's own.
    seeds = [p.seed for p in points]
    assert len(set(seeds)) == 6 and 0 not in seeds and 41 not in seeds

    # Each point is an ordinary run of the study's model version, listed only when asked.
    job = alice.get(points[4].job_id)
    assert (job.study_id, job.study_point, job.seed) == (study.id, 4, points[4].seed)
    assert job.model_version == done.model_version
    assert job.progress.estimate == points[4].progress.estimate

    def listed(include: bool) -> set[str]:
        request = pb.ListJobsRequest(
            model="european_option", page_size=500, include_study_points=include
        )
        return {j.job_id for j in alice.stub.ListJobs(request, metadata=alice.metadata).jobs}

    ids = {p.job_id for p in points}
    assert ids <= listed(include=True) and not ids & listed(include=False)

    frame = study.to_pandas()
    assert list(frame["index"]) == list(range(6))
    assert list(frame["strike"]) == [s for s in strikes for _ in volatilities]
    assert list(frame["volatility"]) == pytest.approx(volatilities * 2)
    assert list(frame["estimate"]) == [p.progress.estimate for p in points]
    assert list(frame["stderr"]) == [p.progress.stderr for p in points]
    half = Z95 * frame["stderr"]
    assert list(frame["ci_low"]) == pytest.approx(list(frame["estimate"] - half))
    assert list(frame["ci_high"]) == pytest.approx(list(frame["estimate"] + half))
    assert set(frame["state"]) == {"succeeded"}
    assert list(frame["job_id"]) == [p.job_id for p in points]

    # The same study again: the same seeds, so every point is the first one's cached result.
    again = alice.study(
        "european_option",
        params={**OPTION, "paths": 200_000},
        sweep={"strike": strikes, "volatility": simlab.range(0.1, 0.3, 3)},
        seed=41,
    )
    assert again.id != study.id
    finished(again)
    repeated = again.points()
    assert [p.seed for p in repeated] == seeds
    assert [p.progress.estimate for p in repeated] == [p.progress.estimate for p in points]
    assert [alice.get(p.job_id).cached_from for p in repeated] == [p.job_id for p in points]


# 40 blocks of 100,000 paths per point: the paired standard error of a difference comes from
# 40 block differences. Measured with these seeds' streams offline (10 seeds): the CRN stderr is
# 0.08-0.18 of the independent one (payoffs of neighbouring strikes correlate at ~0.99), so
# 0.3 leaves a wide margin; each estimate lies within 4 of its standard errors of the exact
# difference.
CRN_PATHS = 4_000_000
STRIKES = [95, 100, 105]


@pytest.mark.timeout(300)
def test_common_random_numbers_make_differences_far_more_precise(alice: Client) -> None:
    def study(crn: bool) -> Study:
        handle = alice.study(
            "european_option",
            params={**OPTION, "volatility": 0.2, "paths": CRN_PATHS},
            sweep={"strike": STRIKES},
            crn=crn,
            seed=2024,
        )
        finished(handle)
        return handle

    crn, independent = study(crn=True), study(crn=False)
    assert {p.seed for p in crn.points()} == {2024}
    assert len({p.seed for p in independent.points()}) == 3

    for a, b in [(0, 1), (1, 2)]:
        exact = bs_price(strike=STRIKES[b]) - bs_price(strike=STRIKES[a])
        common, apart = crn.compare(a, b), independent.compare(a, b)
        print(
            f"K {STRIKES[a]} -> {STRIKES[b]}: exact {exact:.5f}; "
            f"CRN {common.difference:.5f} ± {common.stderr:.5f} (corr {common.correlation:.3f}, "
            f"independent-seed stderr of the same points {common.stderr_independent:.5f}); "
            f"independent seeds {apart.difference:.5f} ± {apart.stderr:.5f} "
            f"(corr {apart.correlation:.3f}); ratio {common.stderr / apart.stderr:.3f}"
        )
        for compared in (common, apart):
            assert compared.blocks == CRN_PATHS // 100_000
            assert compared.difference == pytest.approx(
                compared.b.progress.estimate - compared.a.progress.estimate, abs=1e-9
            )
            assert abs(compared.difference - exact) <= 4 * compared.stderr, compared
            assert compared.confidence == pytest.approx(0.95)
            assert compared.half_width == pytest.approx(Z95 * compared.stderr, rel=1e-4)
        assert (common.a.index, common.b.index) == (a, b)
        assert common.stderr < 0.3 * apart.stderr
        assert common.stderr < 0.3 * common.stderr_independent
        assert common.correlation > 0.9
        # Without CRN, pairing the blocks gains nothing.
        assert apart.stderr == pytest.approx(apart.stderr_independent, rel=0.5)


def submit_spec(client: Client, **spec: Any) -> SimlabError:
    """The error of a SubmitStudy sent as is (no client-side checks)."""
    parameters = struct_pb2.Struct()
    parameters.update(spec.pop("parameters", {}))
    request = pb.SubmitStudyRequest(
        spec=pb.StudySpec(parameters=parameters, **spec), request_id=uuid.uuid4().hex
    )
    with pytest.raises(grpc.RpcError) as caught:
        client.stub.SubmitStudy(request, metadata=client.metadata, timeout=30)
    return from_grpc(caught.value)


def values(*items: Any) -> pb.StudyValues:
    listed = struct_pb2.ListValue()
    listed.extend(items)
    return pb.StudyValues(values=listed.values)


def test_bad_sweeps_are_invalid_argument_naming_the_field(alice: Client) -> None:
    option = {**OPTION, "paths": 200_000}
    strikes = pb.StudyAxis(parameter="strike", values=values(95, 105))
    one_volatility = pb.StudyRange(start=0.1, stop=0.3, count=1)
    before = len(alice.studies())
    cases = [
        (
            [strikes, pb.StudyAxis(parameter="volatility", range=one_volatility)],
            "spec.axes[1].range.count",
        ),
        ([pb.StudyAxis(parameter="strike", values=values(95, -5))], "spec.axes[0].values[1]"),
        ([pb.StudyAxis(parameter="no_such_parameter", values=values(1, 2))], "spec.axes[0]"),
        ([], "spec.axes"),
    ]  # fmt: skip
    for axes, field in cases:
        error = submit_spec(alice, model="european_option", parameters=option, axes=axes)
        assert error.code == Code.INVALID_ARGUMENT, error
        assert error.field is not None and error.field.startswith(field), (field, error)
        assert error.message.startswith(f"{error.field}: ")
    # A parameter both fixed and swept.
    error = submit_spec(
        alice, model="european_option", parameters={**option, "strike": 100}, axes=[strikes]
    )
    assert error.code == Code.INVALID_ARGUMENT and error.field and "strike" in error.message
    # Nothing was queued.
    assert len(alice.studies()) == before


@pytest.mark.timeout(300)
def test_the_cli_submits_waits_and_writes_the_results_csv(stack: Stack, tmp_path: Path) -> None:
    submitted = as_json(
        simlab_cli(
            stack, "study", "submit", "european_option", "-p", "spot=100", "-p", "paths=200000",
            "-p", "strike=90,100,110", "-p", "volatility=log:0.1:0.4:2", "--seed", "5",
            "--title", "cli sweep", "--wait", "--json",
        )
    )  # fmt: skip
    assert submitted["points"] == 6 and submitted["state"] == "SUCCEEDED"
    rows = submitted["rows"]
    assert [row["index"] for row in rows] == list(range(6))
    for row, (strike, volatility) in zip(
        rows, itertools.product([90, 100, 110], [0.1, 0.4]), strict=True
    ):
        assert (row["strike"], row["volatility"]) == (strike, pytest.approx(volatility))
        assert row["state"] == "succeeded" and row["samples"] == 200_000
        expected = bs_price(strike=strike, volatility=volatility)
        assert abs(row["estimate"] - expected) <= 4 * row["stderr"], row

    study_id = submitted["study_id"]
    status = as_json(simlab_cli(stack, "study", "status", study_id, "--json"))
    assert status["state"] == "SUCCEEDED" and status["title"] == "cli sweep"
    listed = as_json(simlab_cli(stack, "study", "list", "--json"))
    assert study_id in [s["study_id"] for s in listed["studies"]]

    out = tmp_path / "study.csv"
    simlab_cli(stack, "study", "results", study_id, "-o", str(out))
    with out.open(newline="") as file:
        written = list(csv.DictReader(file))
    assert [int(row["index"]) for row in written] == list(range(6))
    for row, expected in zip(written, rows, strict=True):
        assert float(row["strike"]) == expected["strike"]
        assert float(row["estimate"]) == pytest.approx(expected["estimate"], rel=1e-12)
        low, high = float(row["ci_low"]), float(row["ci_high"])
        assert low < float(row["estimate"]) < high
        assert math.isclose(high - low, 2 * Z95 * float(row["stderr"]), rel_tol=1e-4)
        assert row["job_id"] == expected["job_id"] and row["state"] == "succeeded"
    # The gateway's download of the same rows.
    request = urllib.request.Request(
        f"{stack.url}/studies/{study_id}/study.csv",
        headers={"Authorization": f"Bearer {stack.token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        downloaded = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert downloaded == written
