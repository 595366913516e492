"""`simlab study ...` against a fake gateway: the requests it sends, the lines it prints, the
--json shapes and the exit codes (0 done, 1 a failed or cancelled study or a refusal, 2 bad
usage)."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
import stamina
from google.protobuf import json_format

from libs.client.tests.fakes import RpcError, StudyGateway, cli_calls, grid_study, study_point
from simlab import cli
from simlab.v1 import simulation_pb2 as pb

Z95 = 1.959963984540054


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> StudyGateway:
    fake = StudyGateway()
    cli_calls(monkeypatch, fake)
    monkeypatch.setattr(cli.err, "width", 200)
    return fake


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_submit_sends_the_sweep_and_prints_the_id_at_once(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = run(
        capsys, "study", "submit", "european_option", "-p", "strike=90,100,110",
        "-p", "volatility=0.1:0.3:2", "-p", "spot=100", "--max-samples", "1e5", "--crn",
        "--seed", "7", "--shards", "2", "--title", "smile", "--rel-tol", "1e-3", "--two-stage",
        "--no-cache", "--request-id", "r1",
    )  # fmt: skip
    assert code == 0
    assert printed.strip() == (
        "submitted study s1: 6 points  http://simlab.test:8080/studies/s1  (simlab study watch s1)"
    )
    [request] = gateway.submits
    spec = request.spec
    assert request.request_id == "r1"
    assert json_format.MessageToDict(spec) == {
        "model": "european_option",
        "parameters": {"spot": 100.0, "paths": 100000.0},
        "axes": [
            {"parameter": "strike", "values": {"values": [90.0, 100.0, 110.0]}},
            {"parameter": "volatility", "range": {"start": 0.1, "stop": 0.3, "count": 2}},
        ],
        "design": "STUDY_DESIGN_GRID",
        "seed": "7",
        "crn": True,
        "shards": 2,
        "precision": {"relTol": 0.001, "twoStage": True},
        "noCache": True,
        "title": "smile",
    }


def test_submit_json_is_the_id_points_and_state(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = run(
        capsys, "study", "submit", "european_option", "-p", "volatility=0.1:0.5",
        "--sample", "sobol:64", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(printed) == {"study_id": "s1", "points": 6, "state": "QUEUED"}
    spec = gateway.submits[0].spec
    assert (spec.design, spec.points, spec.crn, spec.seed) == (pb.STUDY_DESIGN_SOBOL, 64, False, 0)
    assert gateway.submits[0].request_id  # a fresh idempotency key


def test_submit_wait_json_adds_every_points_row(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, stderr = run(
        capsys, "study", "submit", "european_option", "-p", "strike=90,100,110",
        "-p", "volatility=0.1:0.3:2", "--wait", "--json",
    )  # fmt: skip
    assert code == 0
    assert "submitted study s1: 6 points" in stderr
    said = json.loads(printed)
    assert (said["study_id"], said["points"], said["state"]) == ("s1", 6, "SUCCEEDED")
    assert [row["index"] for row in said["rows"]] == list(range(6))
    assert said["rows"][3] == {
        "index": 3, "strike": 100, "volatility": 0.3, "estimate": 13.0, "stderr": 0.1,
        "ci_low": 13.0 - Z95 * 0.1, "ci_high": 13.0 + Z95 * 0.1, "state": "succeeded",
        "stop_reason": None, "samples": 100_000, "job_id": "job3",
    }  # fmt: skip
    # Paged through (4 points a page in the fake).
    assert [page.page_token for page in gateway.point_pages] == ["", "4"]


def test_submit_wait_fails_when_a_point_failed(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.study = grid_study(pb.STUDY_STATE_FAILED, succeeded=5, failed=1)
    gateway.points[4] = study_point(4, pb.JOB_STATE_FAILED, samples_done=0)
    code, printed, stderr = run(
        capsys, "study", "submit", "european_option", "-p", "strike=90,100,110", "--wait"
    )
    assert code == 1
    assert (
        "simlab: error: study s1: 1 of 6 points failed (simlab study results s1 shows which)"
        in (stderr)
    )
    # The table of points, the failed one without numbers.
    [failed] = [line for line in printed.splitlines() if line.endswith("job4")]
    assert failed.split() == ["4", "110", "0.1", "failed", "0", "job4"]
    assert "5 succeeded, 1 failed, 0 cancelled" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "volatility=0.1:x:9"], "-p volatility=0.1:x:9: 'x' is not a number"),
        (["-p", "strike=90"], "a study sweeps at least one parameter"),
        (["-p", "volatility=0.1:0.5", "--sample", "lhs:5"], "--sample expects sobol:N"),
        (["-p", "strike=1,2", "-p", "strike=3,4"], "-p strike=3,4: strike is given twice"),
    ],
)
def test_bad_sweeps_are_usage_errors(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, stderr = run(capsys, "study", "submit", "european_option", *argv)
    assert code == 2
    assert stderr.startswith(f"simlab: error: {message}")
    assert "Traceback" not in stderr
    assert gateway.submits == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "paths=1e5,1e6", "--max-samples", "1e7"],
         "--max-samples sets paths: give either --max-samples or -p paths="),
        (["-p", "strike=1,2", "--confidence", "0.99"],
         "--confidence needs a target: --rel-tol or --abs-tol"),
    ],
)  # fmt: skip
def test_flag_conflicts_are_refused_before_submitting(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, stderr = run(capsys, "study", "submit", "european_option", *argv)
    assert (code, gateway.submits) == (1, [])
    assert message in stderr


def test_a_server_refusal_is_one_line(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: pb.SubmitStudyRequest, **_: Any) -> None:
        raise RpcError(grpc.StatusCode.INVALID_ARGUMENT, "spec.axes[0].values[1]: must be > 0")

    gateway.SubmitStudy = refuse  # type: ignore[assignment, method-assign]
    code, _, stderr = run(capsys, "study", "submit", "european_option", "-p", "strike=1,-1")
    assert code == 1
    assert stderr.strip() == "simlab: error: spec.axes[0].values[1]: must be > 0"


def test_status_shows_counts_rate_time_to_go_and_queue(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    study = grid_study(pb.STUDY_STATE_RUNNING, succeeded=2, failed=1, running=1, queued=2)
    study.points_per_second, study.eta_seconds, study.queue_ahead = 4.5, 180, 12
    gateway.study = study
    code, printed, _ = run(capsys, "study", "status", "s1")
    assert code == 0
    for line in (
        "s1  smile",
        "RUNNING",
        "european_option@v3",
        "strike, volatility",
        "paths=100000, spot=100",
        "grid (common random numbers), seed 7, 1 shard(s) per point",
        "3 of 6 ended (2 succeeded, 1 failed, 0 cancelled); 1 running, 2 queued",
        "600,000 / 600,000",
        "4.5 points/s",
        "≈ 3 min",
        "12 runs queued ahead of its next point",
        "http://simlab.test:8080/studies/s1",
    ):
        assert line in printed, line

    code, printed, _ = run(capsys, "study", "status", "s1", "--json")
    data = json.loads(printed)
    assert data["counts"] == {"queued": 2, "running": 1, "succeeded": 2, "failed": 1,
                              "cancelled": 0}  # fmt: skip
    assert data["axes"] == [
        {"parameter": "strike", "values": [90, 100, 110]},
        {"parameter": "volatility", "range": {"start": 0.1, "stop": 0.3, "count": 2, "log": False}},
    ]
    assert (data["state"], data["design"], data["crn"], data["seed"], data["eta_seconds"]) == (
        "RUNNING", "grid", True, 7, 180,
    )  # fmt: skip
    assert (data["points_per_second"], data["queue_ahead"], data["precision"]) == (4.5, 12, None)
    assert data["created_at"] == "2026-09-21T14:13:20Z"


def test_watch_rides_out_a_gateway_restart_and_ends_with_the_study(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    running = grid_study(pb.STUDY_STATE_RUNNING, succeeded=1, running=1, queued=4)
    queued = [study_point(i, pb.JOB_STATE_QUEUED, seq=1, samples_done=0) for i in range(6)]
    half = study_point(1, pb.JOB_STATE_RUNNING, seq=3, samples_done=50_000)
    gateway.watches = [
        ([pb.StudyEvent(study=running, points=queued, snapshot=True),
          pb.StudyEvent(study=running, points=[study_point(0), half])],
         RpcError(grpc.StatusCode.UNAVAILABLE, "gateway restarting")),
        # The gateway closes a stream cleanly when it stops: the watch reconnects.
        ([pb.StudyEvent(study=running, points=queued, snapshot=True)], None),
        ([pb.StudyEvent(study=gateway.study, points=gateway.points, snapshot=True)], None),
    ]  # fmt: skip
    with stamina.set_testing(True, attempts=5):
        code, printed, stderr = run(capsys, "study", "watch", "s1")
    assert code == 0
    assert gateway.watches == []
    assert "100%" in stderr
    assert "6 of 6 ended (6 succeeded, 0 failed, 0 cancelled)" in printed


@pytest.mark.parametrize(
    ("study", "message"),
    [
        (grid_study(pb.STUDY_STATE_CANCELLED, succeeded=2, cancelled=4), "study s1 was cancelled"),
        (grid_study(pb.STUDY_STATE_FAILED, succeeded=4, failed=2), "2 of 6 points failed"),
    ],
)
def test_watch_exits_nonzero_when_a_point_failed_or_it_was_cancelled(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str], study: pb.Study, message: str
) -> None:
    gateway.study = study
    code, printed, stderr = run(capsys, "study", "watch", "s1", "--json")
    assert code == 1
    assert message in stderr
    assert json.loads(printed)["study_id"] == "s1"


def test_a_missing_study_is_one_line(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(capsys, "study", "status", "nope")
    assert (code, stderr.strip()) == (1, "simlab: error: study nope not found")


def test_list_pages_with_a_command_for_the_next_page(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = run(capsys, "study", "list")
    assert code == 0
    assert "s1" in printed and "smile" in printed and "SUCCEEDED" in printed and "100%" in printed
    assert "more: simlab study list --limit 20 --page-token p2" in printed
    code, printed, _ = run(capsys, "study", "list", "--page-token", "p2", "--json")
    listed = json.loads(printed)
    assert [s["study_id"] for s in listed["studies"]] == ["s0"]
    assert listed["next_page_token"] == ""


def test_cancel_says_what_is_left(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = run(capsys, "study", "cancel", "s1")
    assert code == 0 and gateway.cancels == ["s1"]
    assert printed.strip() == "s1: CANCELLED · 6 of 6 ended (4 cancelled)"
    code, printed, _ = run(capsys, "study", "cancel", "s1", "--json")
    assert json.loads(printed)["counts"]["cancelled"] == 4


def test_results_as_a_table_json_and_csv(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, printed, _ = run(capsys, "study", "results", "s1")
    assert code == 0
    header = printed.splitlines()[0].split()
    assert header == ["index", "strike", "volatility", "estimate", "stderr", "ci_low", "ci_high",
                      "state", "stop_reason", "samples", "job_id"]  # fmt: skip
    assert len(printed.splitlines()) == 7

    code, printed, _ = run(capsys, "study", "results", "s1", "--json")
    data = json.loads(printed)
    assert data["columns"] == header and len(data["rows"]) == 6

    target = tmp_path / "out" / "study.csv"
    code, printed, _ = run(capsys, "study", "results", "s1", "-o", str(target))
    assert code == 0 and f"{target}  (6 points," in printed
    with target.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == header
    assert [r["job_id"] for r in rows] == [f"job{i}" for i in range(6)]
    assert rows[5]["strike"] == "110" and rows[5]["volatility"] == "0.3"
    assert math.isclose(float(rows[5]["ci_high"]), 15.0 + Z95 * 0.1)
    assert rows[5]["stop_reason"] == ""


def test_results_as_parquet(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pandas

    target = tmp_path / "study.parquet"
    code, _, _ = run(capsys, "study", "results", "s1", "-o", str(target), "--json")
    assert code == 0
    table = pandas.read_parquet(target)
    assert list(table["index"]) == list(range(6))
    assert list(table["strike"]) == [90, 90, 100, 100, 110, 110]
    assert table["estimate"].tolist() == [10.0 + i for i in range(6)]


def test_results_parquet_without_pyarrow_says_what_to_install(
    gateway: StudyGateway,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, stderr = run(capsys, "study", "results", "s1", "-o", str(tmp_path / "s.parquet"))
    assert code == 1
    assert stderr.strip() == (
        "simlab: error: writing s.parquet (Parquet) needs pyarrow: "
        "pip install 'simlab-client[pandas]'"
    )
    assert not (tmp_path / "s.parquet").exists()
    code, _, stderr = run(capsys, "study", "results", "s1", "-o", str(tmp_path / "s.xlsx"))
    assert code == 1
    assert "-o " in stderr and "write study.csv or study.parquet" in stderr


def test_compare_shows_the_difference_its_error_and_the_independent_error(
    gateway: StudyGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = run(capsys, "study", "compare", "s1", "0", "4")
    assert code == 0
    request = gateway.compares[0]
    assert (request.study_id, request.a, request.b) == ("s1", 0, 4)
    assert printed.splitlines() == [
        "point 4 - point 0: -4.25 ± 0.0039 (95 %)",
        "stderr 0.002 (independent seeds: 0.05, 25 times larger)",
        "correlation 0.998 over 10 paired blocks",
        "point 0: strike=90",
        "point 4: strike=110",
    ]
    code, printed, _ = run(capsys, "study", "compare", "s1", "0", "4", "--json")
    data = json.loads(printed)
    assert (data["difference"], data["stderr"], data["stderr_independent"]) == (
        -4.25, 0.002, 0.05,
    )  # fmt: skip
    assert data["improvement"] == pytest.approx(25)
    assert data["a"]["parameters"]["strike"] == 90 and data["b"]["estimate"] == 14.0


def test_share_a_study(gateway: StudyGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, _ = run(capsys, "study", "share", "s1", "--expires", "7d")
    assert code == 0
    request = gateway.share_requests[0]
    assert (request.study_id, request.job_id, request.ttl_seconds) == ("s1", "", 7 * 86400)
    lines = printed.splitlines()
    assert lines[0] == "http://simlab.test:8080/studies/s1?share=simlab_share_t"
    assert "revoke with: simlab study share s1 --revoke l1" in printed
    code, printed, _ = run(capsys, "study", "share", "s1", "--list", "--json")
    [link] = json.loads(printed)["links"]
    assert (link["study_id"], link["job_id"]) == ("s1", None)


def test_help_explains_every_form(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(["study", "submit", "--help"])
    text = capsys.readouterr().out
    for form in ("strike=90,100,110", "volatility=0.1:0.5:9", "rate=log:0.01:1:5",
                 "--sample sobol:256", "--crn", "study.parquet"):  # fmt: skip
        assert form in text, form


def test_list_filters_by_state(gateway: StudyGateway, capsys: pytest.CaptureFixture[str]) -> None:
    # `simlab list --state` used to call the enum's wrapper, which is not callable.
    code, _, _ = run(capsys, "list", "--state", "running", "--state", "failed")
    assert code == 0
    assert list(gateway.list_jobs[0].states) == [pb.JOB_STATE_RUNNING, pb.JOB_STATE_FAILED]
