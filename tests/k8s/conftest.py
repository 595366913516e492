"""The session's Kubernetes cluster (see cluster.py beside this file)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _load_cluster_module():  # type: ignore[no-untyped-def]
    # --import-mode=importlib puts no test directory on sys.path: load the helper by path.
    name = "simlab_tests_k8s_cluster"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("cluster.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


cluster = _load_cluster_module()


@pytest.fixture(scope="session")
def kube(request: pytest.FixtureRequest) -> Iterator[cluster.KubeCluster]:  # type: ignore[name-defined]
    """A running single-node cluster with the worker and service images loaded. What the
    scripts report (the first run builds Kubernetes: many minutes) is shown as it comes."""
    plugins = request.config.pluginmanager
    reporter = plugins.getplugin("terminalreporter")
    capture = plugins.getplugin("capturemanager")

    def progress(line: str) -> None:
        if reporter is None:
            return
        if capture is None:
            reporter.write_line(f"[k8s] {line}")
            return
        with capture.global_and_fixture_disabled():  # live, not in the captured output
            reporter.write_line(f"[k8s] {line}")

    with cluster.local_cluster(progress=progress) as kube:
        yield kube
