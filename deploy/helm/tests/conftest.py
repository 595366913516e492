import copy
import functools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

# The chart's checks are scripts beside the chart, not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rendering import CHART, ROOT, Rendering, merged_values

HELM = ROOT / ".tools/bin/helm"  # built by `make helm-bin`, which `make test` runs first


@functools.cache
def _render(values_file: str) -> Rendering:
    path = CHART / "ci" / values_file
    out = subprocess.run(
        [str(HELM), "template", "simlab", str(CHART), "-n", "simlab", "-f", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Rendering([d for d in yaml.safe_load_all(out) if d], merged_values(path))


@pytest.fixture(scope="session")
def render() -> Callable[[str], Rendering]:
    """The chart as rendered with one of its ci/*-values.yaml: a copy of its own to break."""
    return lambda values_file: copy.deepcopy(_render(values_file))
