"""The quick version of `make load`: a burst of jobs, every one processed, the runner's worker
cap (SIMLAB_RUNNER_MAX_WORKERS) holding throughout (worker processes sampled)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.load import burst, load_stack

pytestmark = pytest.mark.e2e
JOBS = int(os.environ.get("SIMLAB_LOAD_JOBS", "200"))
CAP = 4


@pytest.mark.timeout(1800)
def test_a_burst_is_processed_within_the_worker_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = load_stack(tmp_path, CAP)
    stack.start()
    try:
        result = burst(stack, JOBS, CAP)
    finally:
        stack.stop()
    with capsys.disabled():
        print(f"\n{result.text()}")
    assert result.succeeded == JOBS, result.text()
    assert result.cap_held, result.text()
