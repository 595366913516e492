"""tools/k8s/cluster.py as make and the tests run it: standard library only, with no cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLUSTER_PY = Path(__file__).resolve().parents[1] / "cluster.py"


def cluster_py(*args: str) -> subprocess.CompletedProcess[str]:
    # -S -I: no site-packages, no PYTHONPATH, as with a bare system python3.
    return subprocess.run(
        [sys.executable, "-S", "-I", str(CLUSTER_PY), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_of_a_stopped_cluster(tmp_path: Path) -> None:
    p = cluster_py("--state-dir", str(tmp_path), "status")
    assert p.returncode == 3, p.stderr
    assert json.loads(p.stdout) == {"running": []}


def test_env_names_the_kubeconfig_and_the_host_address(tmp_path: Path) -> None:
    p = cluster_py("env", "--state-dir", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert f"export KUBECONFIG={tmp_path.resolve()}/k8s/admin.kubeconfig" in p.stdout.splitlines()
    assert "export SIMLAB_K8S_HOST_ADDRESS=10.250.0.1" in p.stdout
    assert "export SIMLAB_K8S_NAMESPACE=simlab-jobs" in p.stdout.splitlines()


def test_unknown_command_is_refused() -> None:
    p = cluster_py("start")
    assert p.returncode == 2
    assert "invalid choice" in p.stderr
