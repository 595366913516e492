"""The quick version of `make load`: a burst of jobs, every one processed, the runner's worker
cap (SIMLAB_RUNNER_MAX_WORKERS) holding throughout (worker processes sampled)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest


def _bench_load() -> Any:
    # --import-mode=importlib puts no directory on sys.path: load bench/load.py by path.
    name = "simlab_bench_load"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "bench" / "load.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


load = _bench_load()

pytestmark = pytest.mark.e2e
# 50: about 3 minutes on 2 cores (each job starts a worker process); `make load` sends 10,000.
JOBS = int(os.environ.get("SIMLAB_LOAD_JOBS", "50"))
CAP = 4


@pytest.mark.timeout(1800)
def test_a_burst_is_processed_within_the_worker_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = load.load_stack(tmp_path, CAP)
    try:
        stack.start(timeout=300)  # a loaded machine starts Python slowly
        result = load.burst(stack, JOBS, CAP)
    finally:
        stack.stop()
    with capsys.disabled():
        print(f"\n{result.text()}")
    assert result.succeeded == JOBS, result.text()
    assert result.cap_held, result.text()
