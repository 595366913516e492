"""Script models: real child processes (adapters/script.py) run by the shard flow against the
in-memory job store: their files become the artifacts, summary.json the summary, their reports
progress (rate-limited), a failure the last lines of their output; a stop ends them."""

from __future__ import annotations

import itertools
import json
import textwrap
import threading
import time
from pathlib import Path

import pytest

from services.worker.tests.fakes import FakeJobStore
from simlab.bundle import Bundle, extract, from_source
from simlab.usercode import Inspection, LoadedCode
from simlab_worker.adapters.script import SubprocessScripts, child_environment
from simlab_worker.core.ports import JobSpec, Script
from simlab_worker.core.script import ScriptProgress, parse_report
from simlab_worker.core.shard import Exit, ShardRunner

INTERVAL_S = 0.25
# The 8-byte PNG signature and an empty IHDR: enough to be recognised as a PNG.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

WRITES_RESULTS = f'''"""Reports progress, then writes a summary and a plot."""
import json
import os
import sys
import time
from pathlib import Path

import simlab

out = Path(os.environ["SIMLAB_OUTPUT_DIR"])
for i in range(1, 41):
    simlab.report(done=i, total=40, estimate=i / 40)
    time.sleep(0.025)
print("written to stdout")
print("written to stderr", file=sys.stderr)
(out / "plots").mkdir()
(out / "plots" / "curve.png").write_bytes({PNG!r})
summary = {{
    "params": simlab.params(),
    "args": sys.argv[1:],
    "cwd_has_code": Path("run.py").exists(),
    "worker_settings": sorted(k for k in os.environ if k.startswith("SIMLAB_WORKER_")),
}}
(out / "summary.json").write_text(json.dumps(summary))
'''


def load_script(bundle: Bundle, directory: Path, name: str) -> LoadedCode:
    """What simlab.usercode.load gives for a script: extracted, not run."""
    return LoadedCode("script", None, directory, extract(bundle, directory))


def not_inspected(bundle: Bundle, directory: Path, name: str) -> Inspection:
    raise AssertionError("a run is not inspected")


def script_job(source: str, *, args: tuple[str, ...] = (), shards: int = 1) -> FakeJobStore:
    bundle = from_source(textwrap.dedent(source), "run.py")
    spec = JobSpec(
        "j-1",
        "writer",
        {"paths": 1000.0, "label": "a"},
        7,
        shards,
        code_sha256=bundle.sha256,
        args=args,
    )
    return FakeJobStore(spec, bundle)


def runner(store: FakeJobStore, tmp_path: Path, **kwargs) -> ShardRunner:
    return ShardRunner(
        jobstore=store,
        job_id="j-1",
        shard=0,
        report_interval_s=INTERVAL_S,
        runtime="test",
        workdir=tmp_path,
        load_code=load_script,
        inspect_code=not_inspected,
        scripts=kwargs.pop("scripts", SubprocessScripts(poll_s=0.02, grace_s=5.0)),
        say=lambda line: None,
        **kwargs,
    )


def test_a_script_run_stores_its_files_and_summary_and_reports_progress(
    tmp_path, monkeypatch, capfd
):
    monkeypatch.setenv("SIMLAB_WORKER_TOKEN", "job.j-1.secret")
    store = script_job(WRITES_RESULTS, args=("--fast", "two words"))
    assert runner(store, tmp_path).run() is Exit.OK, store.failures

    assert sorted(store.artifacts) == ["plots/curve.png", "summary.json"]
    assert store.artifacts["plots/curve.png"] == PNG
    assert store.completed == {
        "params": {"paths": 1000.0, "label": "a"},
        "args": ["--fast", "two words"],
        "cwd_has_code": True,
        "worker_settings": [],
    }
    assert store.failures == []

    times = [at for at, _ in store.progress]
    reports = [report for _, report in store.progress]
    assert (reports[-1].done, reports[-1].total, reports[-1].estimate) == (40.0, 40.0, 1.0)
    # 40 reports in about a second: the first at once, then at most one per interval, and
    # the last one when the script has ended.
    assert 2 <= len(reports) <= (times[-1] - times[0]) / INTERVAL_S + 2
    between = itertools.pairwise(times[:-1])  # the last one is sent as soon as the script ends
    assert all(b - a >= INTERVAL_S - 0.02 for a, b in between)
    assert [r.done for r in reports] == sorted(r.done for r in reports)

    out, err = capfd.readouterr()
    assert "written to stdout" in out and "written to stderr" in err


def test_a_failing_script_fails_the_job_with_the_end_of_its_output(tmp_path):
    store = script_job(
        """
        import sys
        for i in range(60):
            print(f"line {i}")
        sys.exit(3)
        """
    )
    assert runner(store, tmp_path).run() is Exit.FAILED
    [failure] = store.failures
    assert (failure.message, failure.source) == ("script exited with code 3", "model")
    assert failure.log_tail.splitlines() == [f"line {i}" for i in range(10, 60)]
    assert store.completed is None and store.artifacts == {}


def test_a_script_that_raises_fails_with_its_traceback_in_the_tail(tmp_path):
    store = script_job("raise ValueError('no convergence')\n")
    assert runner(store, tmp_path).run() is Exit.FAILED
    [failure] = store.failures
    assert failure.message == "script exited with code 1"
    assert "ValueError: no convergence" in failure.log_tail


LOOPS_REPORTING = """
import time
import simlab
i = 0
while True:
    i += 1
    simlab.report(done=i)
    time.sleep(0.02)
"""


def test_a_stop_from_the_job_store_terminates_the_script(tmp_path):
    store = script_job(LOOPS_REPORTING)
    store.stop_after_progress = 1
    started = time.monotonic()
    assert runner(store, tmp_path).run() is Exit.OK
    assert time.monotonic() - started < 5
    assert len(store.progress) == 1
    assert store.completed is None and store.failures == [] and store.artifacts == {}


def test_sigterm_terminates_the_script(tmp_path):
    store = script_job("import time\nprint('started', flush=True)\ntime.sleep(600)\n")
    sigterm = threading.Event()
    threading.Timer(0.5, sigterm.set).start()
    started = time.monotonic()
    assert runner(store, tmp_path, stop_requested=sigterm.is_set).run() is Exit.OK
    assert time.monotonic() - started < 5
    assert store.completed is None and store.failures == []


def test_a_script_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    store = script_job(
        """
        import signal, time
        import simlab
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        simlab.report(done=1)
        time.sleep(600)
        """
    )
    store.stop_after_progress = 1
    scripts = SubprocessScripts(poll_s=0.02, grace_s=0.5)
    started = time.monotonic()
    assert runner(store, tmp_path, scripts=scripts).run() is Exit.OK
    assert 0.5 <= time.monotonic() - started < 5
    assert store.failures == []


def test_a_script_model_runs_in_one_shard(tmp_path):
    store = script_job("print('hi')\n", shards=2)
    assert runner(store, tmp_path).run() is Exit.INVALID_JOB
    assert "one shard" in store.failures[0].message


def test_a_summary_that_is_not_an_object_is_stored_but_not_the_summary(tmp_path):
    store = script_job(
        """
        import os, pathlib
        pathlib.Path(os.environ["SIMLAB_OUTPUT_DIR"], "summary.json").write_text("[1, 2]")
        """
    )
    assert runner(store, tmp_path).run() is Exit.OK
    assert store.completed == {}
    assert store.artifacts == {"summary.json": b"[1, 2]"}


@pytest.mark.parametrize(
    ("line", "done"),
    [
        ('{"done": 3, "total": null, "estimate": 1.5, "stderr": null}', 3.0),
        ('{"done": 3.5}', 3.5),
        ('{"done": true}', None),
        ('{"total": 3}', None),
        ("[1]", None),
        ("not json", None),
        ('{"done": NaN}', None),
    ],
)
def test_report_lines(line, done):
    report = parse_report(line)
    assert (report.done if report else None) == done


def test_progress_is_sent_at_most_every_interval_and_the_last_one_on_flush():
    now = [0.0]
    sent: list[float] = []

    def send(report) -> bool:
        sent.append(report.done)
        return False

    progress = ScriptProgress(send, 1.0, lambda: now[0], lambda: False)
    for step in range(10):
        now[0] = step * 0.3
        progress.poll([json.dumps({"done": step})])
    progress.flush()
    progress.flush()
    # Sent at t=0, 1.2 (after 0.9 < 1), 2.4, then the last (9) on flush, once.
    assert sent == [0.0, 4.0, 8.0, 9.0]


def test_the_script_does_not_get_the_workers_settings(tmp_path):
    script = Script(tmp_path, "run.py", (), "{}", 7, tmp_path / "out", tmp_path / "report")
    env = child_environment(
        {"PATH": "/bin", "SIMLAB_WORKER_TOKEN": "secret", "SIMLAB_LOG_LEVEL": "info"}, script
    )
    assert "SIMLAB_WORKER_TOKEN" not in env
    assert env["PATH"] == "/bin" and env["SIMLAB_LOG_LEVEL"] == "info"
    assert env["SIMLAB_PARAMS"] == "{}" and env["SIMLAB_SEED"] == "7"
    assert env["SIMLAB_REPORT_FILE"] == str(tmp_path / "report")
