"""The SDK's studies and notebook helpers against a fake gateway: Client.study and the Study
handle (wait, points, frames, files, compare, HTML), the progress of a whole study from
WatchStudy's events, Client.runs_frame and the Run handle."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pandas
import pytest
import stamina
from rich.console import Console

import simlab
from libs.client.tests.fakes import RpcError, StudyGateway, grid_study, study_point
from simlab.client import Client
from simlab.progress import StudyProgress, follow_study, point_share, study_line
from simlab.studyspec import StudySpecError
from simlab.v1 import simulation_pb2 as pb


@pytest.fixture
def gateway() -> StudyGateway:
    return StudyGateway()


@pytest.fixture
def client(gateway: StudyGateway) -> Client:
    made = Client("http://simlab.test:8080", "token")
    made.stub = gateway  # type: ignore[assignment]
    return made


def test_study_submits_the_sweep_and_returns_a_handle(
    client: Client, gateway: StudyGateway
) -> None:
    study = client.study(
        "european_option",
        params={"spot": 100},
        sweep={"strike": [90, 100, 110], "volatility": simlab.range(0.1, 0.3, 2)},
        crn=True,
        seed=7,
        rel_tol=1e-3,
        title="smile",
        request_id="r1",
    )
    assert (study.id, study.state, study.info.points) == ("s1", "QUEUED", 6)
    assert study.url == "http://simlab.test:8080/studies/s1"
    [request] = gateway.submits
    assert request.request_id == "r1"
    assert [axis.parameter for axis in request.spec.axes] == ["strike", "volatility"]
    assert request.spec.crn and request.spec.seed == 7 and request.spec.precision.rel_tol == 1e-3
    sampled = client.study(
        "european_option", sweep={"volatility": simlab.range(0.1, 0.5)}, sample=("sobol", 32)
    )
    assert sampled.info.spec.design == pb.STUDY_DESIGN_SOBOL
    assert gateway.submits[1].request_id != gateway.submits[0].request_id

    with pytest.raises(StudySpecError, match=r"sweep\['strike'\]: the list of values is empty"):
        client.study("european_option", sweep={"strike": []})
    assert len(gateway.submits) == 2


def test_wait_follows_the_study_through_a_restart(client: Client, gateway: StudyGateway) -> None:
    running = grid_study(pb.STUDY_STATE_RUNNING, running=6)
    gateway.watches = [
        ([pb.StudyEvent(study=running, snapshot=True)],
         RpcError(grpc.StatusCode.UNAVAILABLE, "gateway restarting")),
        ([pb.StudyEvent(study=gateway.study, points=gateway.points, snapshot=True)], None),
    ]  # fmt: skip
    study = client.get_study("s1")
    study.info = running
    with stamina.set_testing(True, attempts=3):
        assert study.wait(progress=False) is study
    assert (study.state, study.ended, gateway.watches) == ("SUCCEEDED", True, [])


def test_a_watch_refused_is_raised_not_retried(client: Client, gateway: StudyGateway) -> None:
    gateway.watches = [([], RpcError(grpc.StatusCode.NOT_FOUND, "study s9 not found"))]
    with pytest.raises(simlab.client.SimlabError, match="study s9 not found"):
        list(client.watch_study("s9"))


def test_points_rows_frame_and_files(client: Client, gateway: StudyGateway, tmp_path: Path) -> None:
    gateway.points[5].stop.reason = pb.STOP_REASON_PRECISION_REACHED
    gateway.points[5].stop.samples_used = 40_000
    study = client.get_study("s1")
    assert [p.index for p in study.points()] == list(range(6))
    frame = study.to_pandas()
    assert list(frame.columns) == [
        "index", "strike", "volatility", "estimate", "stderr", "ci_low", "ci_high", "state",
        "stop_reason", "samples", "job_id",
    ]  # fmt: skip
    assert frame["strike"].tolist() == [90, 90, 100, 100, 110, 110]
    assert frame["volatility"].tolist() == [0.1, 0.3] * 3
    last = frame.iloc[5]
    assert (last["stop_reason"], last["samples"], last["job_id"]) == (
        "precision_reached", 40_000, "job5",
    )  # fmt: skip
    assert last["ci_high"] - last["estimate"] == pytest.approx(1.959964 * 0.1, rel=1e-6)

    written = study.results(tmp_path / "study.csv")
    assert pandas.read_csv(written)["job_id"].tolist() == [f"job{i}" for i in range(6)]
    with pytest.raises(ValueError, match=r"write \.csv or \.parquet"):
        study.results(tmp_path / "study.json")


def test_results_as_parquet(client: Client, tmp_path: Path) -> None:
    study = client.get_study("s1")
    parquet = pandas.read_parquet(study.results(tmp_path / "study.parquet"))
    assert parquet.equals(study.to_pandas())


def test_the_interval_uses_the_precision_targets_confidence(
    client: Client, gateway: StudyGateway
) -> None:
    gateway.study.spec.precision.rel_tol = 1e-3
    gateway.study.spec.precision.confidence = 0.99
    [row, *_] = client.get_study("s1").rows()
    assert row["ci_high"] - row["estimate"] == pytest.approx(2.5758293 * 0.1, rel=1e-6)


def test_rows_match_the_gateways_csv(client: Client, gateway: StudyGateway) -> None:
    # A point stopped at its target: the interval is the half-width the job store found.
    gateway.points[0].stop.half_width = 0.25
    # A swept parameter named like a column is prefixed, as in the gateway's study.csv.
    gateway.study.swept[:] = ["strike", "state"]
    study = client.get_study("s1")
    assert study.to_pandas().columns[:3].tolist() == ["index", "strike", "parameters.state"]
    first = study.rows()[0]
    assert (first["ci_low"], first["ci_high"]) == (9.75, 10.25)
    assert (first["state"], first["parameters.state"]) == ("succeeded", None)


def test_frames_without_pandas_say_what_to_install(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"Study.to_pandas needs pandas: pip install 'simlab-"):
        client.get_study("s1").to_pandas()
    with pytest.raises(ImportError, match=r"Client.runs_frame needs pandas"):
        client.runs_frame()


def test_cancel_compare_run_and_share(client: Client, gateway: StudyGateway) -> None:
    study = client.get_study("s1")
    assert study.cancel().state == "CANCELLED" and gateway.cancels == ["s1"]
    comparison = study.compare(1, 3)
    assert (comparison.a.index, comparison.b.index, comparison.difference) == (1, 3, -4.25)
    assert comparison.improvement == pytest.approx(25)
    assert "point 3 - point 1: -4.25 ± 0.0039 (95 %)" in str(comparison)
    gateway.jobs = [pb.Job(job_id="job3", model="european_option", state=pb.JOB_STATE_SUCCEEDED)]
    assert study.run(3).id == "job3"
    with pytest.raises(IndexError, match="study s1 has no point 9"):
        study.run(9)
    assert study.share(3600) == "http://simlab.test:8080/studies/s1?share=simlab_share_t"
    assert (gateway.share_requests[0].study_id, gateway.share_requests[0].ttl_seconds) == (
        "s1", 3600,
    )  # fmt: skip


def test_a_study_shows_itself_in_jupyter(client: Client, gateway: StudyGateway) -> None:
    gateway.study = grid_study(pb.STUDY_STATE_RUNNING, succeeded=3, running=1, queued=2)
    gateway.study.title = "<smile>"
    study = client.get_study("s1")
    shown = study._repr_html_()
    assert "study s1 — &lt;smile&gt;" in shown and "<smile>" not in shown
    assert "<progress value='3' max='6'></progress> 50%" in shown
    assert "RUNNING · 3 of 6 ended · 1 running" in shown
    assert "european_option (v3)" in shown
    assert repr(study) == "<Study s1 '<smile>': RUNNING · 3 of 6 ended · 1 running>"


def test_studies_pages_up_to_the_limit(client: Client) -> None:
    assert [s.id for s in client.studies()] == ["s1", "s0"]
    assert [s.id for s in client.studies(limit=1)] == ["s1"]


def test_study_progress_keeps_each_points_newest_state() -> None:
    progress = StudyProgress()
    progress.merge([study_point(i, pb.JOB_STATE_QUEUED, seq=1, samples_done=0) for i in range(4)])
    assert progress.done == 0
    progress.merge([study_point(0, seq=5), study_point(1, pb.JOB_STATE_RUNNING, seq=3,
                                                       samples_done=25_000)])  # fmt: skip
    assert progress.done == pytest.approx(1.25)
    # A reconnected watch's snapshot repeats older states: nothing goes back.
    progress.merge([study_point(0, pb.JOB_STATE_RUNNING, seq=4, samples_done=10)])
    progress.merge([study_point(1, pb.JOB_STATE_QUEUED, seq=1, samples_done=0)])
    assert progress.done == pytest.approx(1.25)
    progress.merge([study_point(1, pb.JOB_STATE_FAILED, seq=6, samples_done=0)])
    assert progress.done == pytest.approx(2.0)


def test_a_point_that_stops_early_counts_to_its_stop() -> None:
    point = study_point(0, pb.JOB_STATE_RUNNING, samples_done=20_000)
    assert point_share(point) == pytest.approx(0.2)
    point.stop.samples_used = 40_000
    assert point_share(point) == pytest.approx(0.5)


def test_the_study_bar_ends_full_with_the_study() -> None:
    class Source:
        def watch_study(self, study_id: str) -> Iterator[pb.StudyEvent]:
            queued = [study_point(i, pb.JOB_STATE_QUEUED, seq=1, samples_done=0) for i in range(6)]
            done = [study_point(i, seq=5) for i in range(6)]
            yield pb.StudyEvent(study=grid_study(pb.STUDY_STATE_QUEUED, queued=6), points=queued,
                                snapshot=True)  # fmt: skip
            yield pb.StudyEvent(study=grid_study(), points=done)

    screen = io.StringIO()
    ended = follow_study(Source(), "s1", Console(file=screen, width=200))
    assert ended.state == pb.STUDY_STATE_SUCCEEDED
    assert "100%" in screen.getvalue() and "SUCCEEDED · 6 of 6 ended" in screen.getvalue()


def test_the_study_line_says_rate_time_and_queue() -> None:
    study = grid_study(pb.STUDY_STATE_RUNNING, succeeded=2, failed=1, cancelled=1, running=1,
                       queued=1)  # fmt: skip
    study.points_per_second, study.eta_seconds, study.queue_ahead = 0.5, 4000, 3
    assert study_line(study) == (
        "RUNNING · 4 of 6 ended (1 failed, 1 cancelled) · 1 running · 0.5 points/s · ≈ 67 min "
        "left · 3 runs queued ahead"
    )


def finished_run(job_id: str, model: str, **parameters: float) -> pb.Job:
    job = pb.Job(job_id=job_id, model=model, state=pb.JOB_STATE_SUCCEEDED, model_version=2,
                 primary_output="estimate")  # fmt: skip
    job.created_at.FromSeconds(1_790_000_000)
    job.parameters.update(parameters)
    job.progress.estimate, job.progress.stderr = 3.14, 0.01
    job.progress.samples_done = job.progress.samples_total = 1000
    job.summary.update({"estimate": 3.14, "stderr": 0.01, "samples": 1000, "stderr_note": "x",
                        "histogram": [1, 2], "model": "pi"})  # fmt: skip
    return job


def test_runs_frame_has_a_row_per_run(client: Client, gateway: StudyGateway) -> None:
    gateway.jobs = [
        finished_run("a", "pi", samples=1000),
        finished_run("b", "pi", samples=2000, power=2),
        finished_run("c", "pi", samples=3000),
    ]
    frame = client.runs_frame(model="pi", states=["succeeded", pb.JOB_STATE_FAILED], limit=3,
                              include_study_points=True)  # fmt: skip
    assert list(frame.columns) == [
        "job_id", "model", "state", "created", "power", "samples", "estimate", "stderr",
        "summary.estimate", "summary.model", "summary.samples", "summary.stderr", "stderr_note",
    ]  # fmt: skip
    assert frame["job_id"].tolist() == ["a", "b", "c"]
    assert frame["samples"].tolist() == [1000, 2000, 3000]
    assert pandas.isna(frame["power"][0]) and frame["power"][1] == 2
    assert frame["created"][0] == pandas.Timestamp("2026-09-21 14:13:20", tz="UTC")
    first = gateway.list_jobs[0]
    assert (first.model, list(first.states), first.include_study_points) == (
        "pi", [pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED], True,
    )  # fmt: skip
    assert [r.page_token for r in gateway.list_jobs] == ["", "2"]  # two a page in the fake
    assert client.runs_frame(limit=1)["job_id"].tolist() == ["a"]
    with pytest.raises(ValueError, match="states: 'done' is not a job state"):
        client.runs_frame(states=["done"])


def test_a_run_handle(client: Client, gateway: StudyGateway) -> None:
    running = pb.Job(job_id="r1", model="pi", state=pb.JOB_STATE_RUNNING, primary_output="est")
    running.progress.samples_done, running.progress.samples_total = 250, 1000
    running.progress.estimate, running.progress.stderr = 3.2, 0.05
    gateway.jobs = [running]
    run = client.run_handle("r1")
    shown = run._repr_html_()
    assert "<progress value='250' max='1000'></progress> 25%" in shown
    assert "est</th><td style='text-align:left'>3.2 ± 0.05" in shown
    assert "http://simlab.test:8080/runs/r1" in shown
    assert run.summary is None

    gateway.jobs = [finished_run("r1", "pi", samples=1000)]
    assert run.summary is not None and run.summary["samples"] == 1000  # refreshed: it had none
    assert run.wait(progress=False).state == "SUCCEEDED"
    assert "summary.json" not in run._repr_html_() and "histogram" in run._repr_html_()
    gateway.artifacts[("r1", "data.csv")] = b"x,y\n1,2\n3,4\n"
    assert run.data["y"].tolist() == [2, 4]
