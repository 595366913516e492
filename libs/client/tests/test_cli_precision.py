"""Precision targets, the result cache and top-ups in the SDK and the CLI, against a fake
gateway: the requests they build, the flags' errors, the lines a finished or running job shows."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from rich.console import Console

from libs.client.tests.fakes import RpcError, cli_calls
from simlab import cli
from simlab.client import make_precision, sample_count
from simlab.common.errors import Code, SimlabError
from simlab.progress import SampleRate, duration, follow, status_line, to_target
from simlab.v1 import simulation_pb2 as pb

OPTION = pb.Model(
    name="european_option",
    version=1,
    kind=pb.MODEL_KIND_BLOCKS,
    primary_output="price",
    parameters=[
        pb.Parameter(name="strike", type=pb.PARAMETER_TYPE_FLOAT),
        pb.Parameter(name="paths", type=pb.PARAMETER_TYPE_INT, is_sample_count=True),
    ],
)
SCRIPT = pb.Model(name="script", version=1, kind=pb.MODEL_KIND_SCRIPT)
UNCOUNTED = pb.Model(
    name="uncounted",
    version=1,
    kind=pb.MODEL_KIND_BLOCKS,
    parameters=[pb.Parameter(name="n", type=pb.PARAMETER_TYPE_INT)],
)


def stopped_job() -> pb.Job:
    """A finished run that stopped at its target after 12 of its 100 blocks."""
    job = pb.Job(
        job_id="src",
        model="european_option",
        state=pb.JOB_STATE_SUCCEEDED,
        seed=7,
        shards=4,
        primary_output="price",
        precision=pb.Precision(rel_tol=1e-3, abs_tol=0.5, confidence=0.99, min_blocks=12),
        stop=pb.StopInfo(
            reason=pb.STOP_REASON_PRECISION_REACHED,
            first_block=0,
            end_block=12,
            samples_used=1_200_000,
            half_width=0.0104,
            confidence=0.99,
            blocks_discarded=3,
        ),
    )
    job.progress.samples_done = 1_500_000
    job.progress.samples_total = 10_000_000
    job.parameters.update({"strike": 105, "paths": 10_000_000})
    return job


class FakeGateway:
    def __init__(self) -> None:
        self.models = {m.name: m for m in (OPTION, SCRIPT, UNCOUNTED)}
        self.jobs = {"src": stopped_job()}
        self.submits: list[pb.SubmitJobRequest] = []
        self.extends: list[pb.ExtendJobRequest] = []
        self.gets: list[str] = []
        self.answer: pb.Job | None = None  # what SubmitJob / ExtendJob answer, if set

    def GetModel(self, request: pb.GetModelRequest, **_: Any) -> pb.Model:
        if model := self.models.get(request.model.partition("@")[0]):
            return model
        raise RpcError(grpc.StatusCode.NOT_FOUND, f"model {request.model} not found")

    def GetJob(self, request: pb.GetJobRequest, **_: Any) -> pb.Job:
        self.gets.append(request.job_id)
        if job := self.jobs.get(request.job_id):
            return job
        raise RpcError(grpc.StatusCode.NOT_FOUND, f"job {request.job_id} not found")

    def SubmitJob(self, request: pb.SubmitJobRequest, **_: Any) -> pb.SubmitJobResponse:
        self.submits.append(request)
        job = self.answer or pb.Job(job_id="j1", model=request.model, precision=request.precision)
        return pb.SubmitJobResponse(job=job, created=True)

    def ExtendJob(self, request: pb.ExtendJobRequest, **_: Any) -> pb.SubmitJobResponse:
        self.extends.append(request)
        job = self.answer or pb.Job(job_id="j2", model="european_option", extends=request.job_id)
        return pb.SubmitJobResponse(job=job, created=True)

    def WatchJob(self, request: pb.WatchJobRequest, **_: Any) -> Iterator[pb.JobEvent]:
        yield pb.JobEvent(job=self.jobs[request.job_id], seq=1)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> FakeGateway:
    fake = FakeGateway()
    cli_calls(monkeypatch, fake)
    return fake


def fields(precision: pb.Precision) -> tuple[float, float, float, int, bool]:
    p = precision
    return (p.rel_tol, p.abs_tol, p.confidence, p.min_blocks, p.two_stage)


@pytest.mark.parametrize(
    ("value", "count"),
    [(4e7, 40_000_000), ("4e7", 40_000_000), ("40_000_000", 40_000_000), (12, 12),
     ("1.5e3", 1500), (str(2**60 + 1), 2**60 + 1)],
)  # fmt: skip
def test_sample_counts_may_be_written_as_floats(value: float | str, count: int) -> None:
    assert sample_count(value) == count


@pytest.mark.parametrize("value", ["1.5", "0", "-3", "many", "1e30", 0.5])
def test_a_sample_count_is_a_whole_number_of_at_least_one(value: float | str) -> None:
    with pytest.raises(ValueError, match="samples must be a whole number ≥ 1"):
        sample_count(value)


def test_submit_sends_a_precision_only_with_a_tolerance(gateway: FakeGateway) -> None:
    client = cli.Client()
    client.submit("european_option", {"paths": 10**7}, rel_tol=1e-3, confidence=0.99)
    client.submit("european_option", {}, abs_tol=0.01, min_blocks=20, two_stage=True)
    client.submit("european_option", {}, no_cache=True)
    first, second, plain = gateway.submits
    assert fields(first.precision) == (1e-3, 0.0, 0.99, 0, False)
    assert fields(second.precision) == (0.0, 0.01, 0.0, 20, True)
    assert not first.no_cache and plain.no_cache
    assert not plain.HasField("precision")
    with pytest.raises(SimlabError) as error:
        client.submit("european_option", {}, confidence=0.99)
    assert (error.value.code, error.value.field) == (Code.INVALID_ARGUMENT, "precision.rel_tol")
    assert len(gateway.submits) == 3


def test_extend_keeps_the_source_settings_not_given(gateway: FakeGateway) -> None:
    client = cli.Client()
    job = client.extend("src", samples="4e7")
    assert (job.job_id, job.extends) == ("j2", "src")
    more = gateway.extends[0]
    assert (more.job_id, more.samples, more.shards, more.no_cache) == ("src", 40_000_000, 0, False)
    assert not more.HasField("precision")
    assert gateway.gets == []  # nothing to keep: the source is not fetched

    # A new tolerance replaces both of the source's; the rest is the source's.
    client.extend("src", rel_tol=1e-4, shards=8, no_cache=True)
    tighter = gateway.extends[1]
    assert fields(tighter.precision) == (1e-4, 0.0, 0.99, 12, False)
    assert (tighter.shards, tighter.no_cache, tighter.samples) == (8, True, 0)
    client.extend("src", confidence=0.9, two_stage=True)
    assert fields(gateway.extends[2].precision) == (1e-3, 0.5, 0.9, 12, True)
    assert gateway.gets == ["src", "src"]


def test_extend_makes_each_call_its_own_request_unless_told(gateway: FakeGateway) -> None:
    client = cli.Client()
    client.extend("src", samples=2e7)
    client.extend("src", samples=2e7)
    client.extend("src", samples=2e7, request_id="mine")
    ids = [request.request_id for request in gateway.extends]
    assert ids[0] and ids[1] and ids[0] != ids[1] and ids[2] == "mine"


def test_extend_of_a_run_without_a_target_needs_a_tolerance(gateway: FakeGateway) -> None:
    gateway.jobs["plain"] = pb.Job(job_id="plain", state=pb.JOB_STATE_SUCCEEDED)
    with pytest.raises(SimlabError, match="needs rel_tol or abs_tol"):
        cli.Client().extend("plain", min_blocks=20)
    assert gateway.extends == []
    target = make_precision(
        rel_tol=None, abs_tol=2.0, confidence=None, min_blocks=None, two_stage=None,
        keep=pb.Precision(),
    )  # fmt: skip
    assert target is not None and fields(target) == (0, 2.0, 0, 0, False)


def test_max_samples_sets_the_sample_parameter(gateway: FakeGateway) -> None:
    argv = ["submit", "european_option", "-p", "strike=105", "--max-samples", "4e7"]
    assert cli.main([*argv, "--rel-tol", "1e-3", "--two-stage", "--no-cache"]) == 0
    request = gateway.submits[0]
    assert dict(request.parameters) == {"strike": 105, "paths": 40_000_000}
    assert fields(request.precision) == (1e-3, 0.0, 0.0, 0, True)
    assert request.no_cache
    assert cli.main(["submit", "european_option", "--abs-tol", "0.01", "--min-blocks", "4",
                     "--confidence", "0.99"]) == 0  # fmt: skip
    assert fields(gateway.submits[1].precision) == (0.0, 0.01, 0.99, 4, False)
    assert not gateway.submits[1].no_cache


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["european_option", "-p", "paths=100", "--max-samples", "4e7"],
         "--max-samples sets paths: give either --max-samples or -p paths="),
        (["script", "--max-samples", "100"], "--max-samples: script is a script"),
        (["uncounted", "--max-samples", "100"],
         "--max-samples: uncounted has no sample-count parameter"),
        (["missing", "--max-samples", "100"], "--max-samples: model missing not found"),
        (["european_option", "--confidence", "0.99"],
         "--confidence needs a target: --rel-tol or --abs-tol"),
        (["european_option", "--two-stage"], "--two-stage needs a target"),
        (["script", "--rel-tol", "0.01"],
         "--rel-tol: script is a script; precision targets are for blocks models"),
    ],
)  # fmt: skip
def test_flag_errors_name_the_flag(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main(["submit", *argv]) == 1
    assert message in capsys.readouterr().err
    assert gateway.submits == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submit", "m", "--rel-tol", "-1"], "argument --rel-tol: must be a number > 0"),
        (["submit", "m", "--abs-tol", "x"], "argument --abs-tol: must be a number, got 'x'"),
        (["submit", "m", "--confidence", "95"], "argument --confidence: must be in (0, 1)"),
        (["submit", "m", "--min-blocks", "1"], "argument --min-blocks: must be a whole number"),
        (["submit", "m", "--max-samples", "2.5"], "argument --max-samples: the sample count"),
        (["extend", "j", "--samples", "lots"], "argument --samples: the sample count"),
        (["extend", "j", "--", "x"], "only run and submit take -- ARGS"),
    ],
)
def test_bad_values_are_refused_naming_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(argv)
    assert message in capsys.readouterr().err


def test_simlab_extend_builds_the_request(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["extend", "src", "--samples", "4e7", "--shards", "8", "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "submitted j2  http://simlab.test:8080/runs/j2" in printed
    assert "extends src" in printed
    request = gateway.extends[0]
    assert (request.samples, request.shards, request.no_cache) == (40_000_000, 8, True)
    assert not request.HasField("precision")

    assert cli.main(["extend", "src", "--abs-tol", "0.001", "--request-id", "r1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["extends"] == "src"
    request = gateway.extends[1]
    assert fields(request.precision) == (0.0, 0.001, 0.99, 12, False)
    assert (request.request_id, request.samples, request.shards) == ("r1", 0, 0)


def test_a_finished_run_says_where_it_stopped(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", "src"]) == 0
    printed = capsys.readouterr().out
    assert (
        "stopped: precision reached at 1,200,000 samples (blocks 0-11), ±0.0104 at 99 %; "
        "3 blocks computed past it, discarded"
    ) in printed
    assert "±0.1 % (or ±0.5) at 99 %, pilot 12 blocks" in printed

    gateway.jobs["src"].stop.reason = pb.STOP_REASON_BUDGET_EXHAUSTED
    gateway.jobs["src"].stop.blocks_discarded = 0
    gateway.jobs["src"].precision.two_stage = True
    assert cli.main(["watch", "src"]) == 0
    printed = capsys.readouterr().out
    assert "stopped: budget exhausted at 1,200,000 samples (blocks 0-11), ±0.0104 at 99 %\n" in (
        printed
    )
    assert "two-stage" in printed


def test_the_json_of_a_job_has_its_target_stop_and_origin(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", "src", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["precision"] == {
        "rel_tol": 1e-3, "abs_tol": 0.5, "confidence": 0.99, "min_blocks": 12, "two_stage": False,
    }  # fmt: skip
    assert job["stop"] == {
        "reason": "precision_reached", "first_block": 0, "end_block": 12,
        "samples_used": 1_200_000, "half_width": 0.0104, "confidence": 0.99,
        "blocks_discarded": 3,
    }  # fmt: skip
    assert (job["cached_from"], job["extends"], job["progress"]["samples_to_target"]) == (
        None, None, None,
    )  # fmt: skip

    gateway.jobs["plain"] = pb.Job(job_id="plain", precision=pb.Precision(rel_tol=0.01))
    assert cli.main(["status", "plain", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["precision"]["confidence"] == 0.95 and plain["precision"]["min_blocks"] == 10
    assert plain["stop"] is None


def test_a_cache_hit_says_whose_result_it_is(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    hit = stopped_job()
    hit.job_id, hit.cached_from = "j3", "src"
    gateway.answer = hit
    assert cli.main(["submit", "european_option", "--seed", "7", "--rel-tol", "1e-3"]) == 0
    printed = capsys.readouterr().out
    assert "submitted j3" in printed
    assert "reused the result of src (no worker ran)" in printed
    assert "stopped: precision reached" in printed

    gateway.jobs["j3"] = hit
    assert cli.main(["submit", "european_option", "--rel-tol", "1e-3", "--wait"]) == 0
    assert "reused the result of src (no worker ran)" in capsys.readouterr().out
    assert cli.main(["status", "j3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cached_from"] == "src"


def running(samples_done: int, samples_to_target: int) -> pb.Job:
    job = pb.Job(
        job_id="run",
        state=pb.JOB_STATE_RUNNING,
        primary_output="price",
        precision=pb.Precision(rel_tol=1e-3),
    )
    p = job.progress
    p.samples_done, p.samples_total, p.samples_to_target = samples_done, 10**8, samples_to_target
    p.estimate, p.stderr = 10.45, 0.02
    return job


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_counts_from_when_samples_started_to_grow() -> None:
    clock = Clock()
    rate = SampleRate(clock)
    assert rate.per_second() is None
    rate.observe(0)
    clock.now = 60.0  # queued, then launching: no samples yet
    rate.observe(0)
    assert rate.per_second() is None
    clock.now = 62.0
    rate.observe(2_000_000)
    clock.now = 64.0
    rate.observe(4_000_000)
    assert rate.per_second() == 1_000_000


def test_the_progress_line_shows_samples_and_time_to_target() -> None:
    job = running(4_000_000, 34_000_000)
    assert to_target(job) == "≈ 34,000,000 samples to target"
    assert to_target(job, 1_000_000) == "≈ 34,000,000 samples to target, ≈ 30 s to go"
    assert to_target(job, 10_000) == "≈ 34,000,000 samples to target, ≈ 50 min to go"
    over = running(4_000_000, 3 * 10**8)
    assert to_target(over, 1e6) == (
        "≈ 300,000,000 samples to target (over the budget of 100,000,000)"
    )
    assert to_target(running(4_000_000, 0), 1e6) == ""  # not known yet
    decided = running(4_000_000, 34_000_000)
    decided.stop.end_block = 12
    assert to_target(decided, 1e6) == ""
    assert to_target(pb.Job(progress=job.progress), 1e6) == ""  # no target
    assert [duration(s) for s in (0.2, 89, 600, 7200)] == ["1 s", "89 s", "10 min", "2.0 h"]

    clock = Clock()
    rate = SampleRate(clock)
    rate.observe(0)
    clock.now = 4.0
    rate.observe(4_000_000)
    assert status_line(job, rate) == (
        "RUNNING    price = 10.45 ± 0.02 · ≈ 34,000,000 samples to target, ≈ 30 s to go"
    )


def test_follow_shows_the_target_then_the_stop() -> None:
    finished = stopped_job()

    class Source:
        def get(self, job_id: str) -> pb.Job:
            return running(0, 0)

        def watch(self, job_id: str) -> Iterator[pb.JobEvent]:
            yield pb.JobEvent(job=running(1_000_000, 34_000_000), seq=1)
            yield pb.JobEvent(job=finished, seq=2)

    screen = io.StringIO()
    console = Console(file=screen, width=200, force_terminal=False)
    assert follow(Source(), "run", console) == finished
    # The bar ends at the samples the stop used, not at the budget.
    assert "100%" in screen.getvalue()
