"""End to end through the `simlab` CLI, against the embedded stack started like `make run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simlab.devstack.stack import Stack

pytestmark = pytest.mark.e2e
OPTION = [
    "-p", "spot=100", "-p", "strike=105", "-p", "volatility=0.2", "-p", "maturity=1",
    "-p", "rate=0.05", "-p", "paths=2000000",
]  # fmt: skip


def simlab(stack: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "simlab.cli", "--server", stack.url, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", "SIMLAB_TOKEN": stack.token},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"simlab {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def test_models_lists_the_catalogue_with_typed_parameters(stack: Stack) -> None:
    models = {m["name"]: m for m in as_json(simlab(stack, "models", "--json"))}
    assert {"european_option", "pi", "rosenbrock_multistart", "mm1_queue"} <= models.keys()
    volatility = next(
        p for p in models["european_option"]["parameters"] if p["name"] == "volatility"
    )
    assert volatility["type"] == "PARAMETER_TYPE_FLOAT"
    assert volatility["unit"] and volatility["help"]
    table = simlab(stack, "models").stdout
    assert "european_option" in table and "built-in" in table
    shown = simlab(stack, "models", "show", "european_option").stdout
    assert "volatility" in shown and "european_option@v1" in shown


def test_submit_wait_prices_the_option_and_downloads_results(stack: Stack, tmp_path: Path) -> None:
    done = as_json(
        simlab(stack, "submit", "european_option", *OPTION, "--shards", "4", "--seed", "7",
               "--wait", "--json")
    )  # fmt: skip
    assert done["status"] == "SUCCEEDED"
    summary = done["summary"]
    assert abs(summary["price"] - summary["bs_price"]) < 4 * summary["stderr"]
    assert done["progress"]["samples_done"] == 2_000_000

    status = as_json(simlab(stack, "status", done["job_id"], "--json"))
    assert status["summary"] == summary
    assert [h["status"] for h in status["history"]] == [
        "QUEUED", "LAUNCHING", "RUNNING", "SUCCEEDED",
    ]  # fmt: skip

    out = tmp_path / "results"
    simlab(stack, "results", done["job_id"], "-o", str(out))
    assert json.loads((out / "summary.json").read_text())["summary"] == summary
    assert (out / "plot.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "data.csv").read_text().count("\n") > 1
    with np.load(out / "data.npz") as data:
        assert data.files

    listed = as_json(simlab(stack, "list", "--json", "--model", "european_option"))
    assert done["job_id"] in [j["job_id"] for j in listed["jobs"]]
    by_id = as_json(simlab(stack, "list", "--json", "--id", done["job_id"][:6].upper()))
    assert done["job_id"] in [j["job_id"] for j in by_id["jobs"]]
    bad = simlab(stack, "list", "--id", "not-an-id", check=False)
    assert bad.returncode == 1
    assert "job_id_prefix" in bad.stderr


def test_same_seed_gives_a_bit_identical_summary_whatever_the_shards(stack: Stack) -> None:
    summaries = []
    for shards in (1, 3):
        args = ["--shards", str(shards), "--seed", "11", "--wait", "--json"]
        result = simlab(stack, "submit", "european_option", *OPTION, *args)
        summaries.append(as_json(result)["summary"])
    assert summaries[0] == summaries[1]


def test_the_human_output_shows_progress_and_summary(stack: Stack) -> None:
    result = simlab(stack, "submit", "pi", "-p", "samples=1000000", "--seed", "3", "--wait")
    assert "SUCCEEDED" in result.stdout
    assert "estimate" in result.stdout


def test_bad_input_is_one_line_and_a_nonzero_exit(stack: Stack) -> None:
    result = simlab(stack, "submit", "european_option", *OPTION, "-p", "volatility=-1", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "parameters.volatility" in result.stderr


def test_a_failed_job_under_wait_exits_nonzero(stack: Stack) -> None:
    result = simlab(stack, "submit", "test_failing", "--wait", check=False)
    assert result.returncode == 1
    assert "model exploded on purpose" in result.stderr


def test_cancel_through_the_cli(stack: Stack) -> None:
    job = as_json(
        simlab(stack, "submit", "test_slow", "-p", "samples=100000", "-p", "seconds_per_block=0.2",
               "--json")
    )  # fmt: skip
    simlab(stack, "cancel", job["job_id"])
    watched = simlab(stack, "watch", job["job_id"], "--json", check=False)
    assert watched.returncode == 1
    assert as_json(watched)["status"] == "CANCELLED"
