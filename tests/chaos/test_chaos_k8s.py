"""The chaos suite against the local Kubernetes cluster (launcher=kubernetes): the same faults,
except that the worker killed is a pod, deleted with --grace-period=0 --force. Only in
`make chaos` (SIMLAB_CHAOS_K8S=1), always under the cluster's lock (flock
/tmp/simlab-k8s.lock): the cluster is shared. Built-in models only: the worker image does not
have the test models."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import pytest

from simlab.client import Client
from simlab.devstack.minio_server import minio_binary, start_minio
from simlab.devstack.stack import Stack
from tests.chaos.harness import Fault, JobSpec, Monitor, chaos, job_specs, stack_faults
from tests.conftest import running_stack
from tests.k8s import conftest as k8s_conftest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("SIMLAB_CHAOS_K8S") != "1",
        reason="make chaos only (SIMLAB_CHAOS_K8S=1, under flock /tmp/simlab-k8s.lock)",
    ),
]
JOBS = int(os.environ.get("SIMLAB_CHAOS_JOBS", "100"))
NAMESPACE = "simlab-jobs"
JOB_ID_LABEL = "simlab.io/job-id"
kube = k8s_conftest.kube  # the session's cluster, as tests/k8s start or find it


@pytest.fixture(scope="module")
def k8s_chaos_stack(
    kube: Any,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("k8s-chaos")
    minio = start_minio(minio_binary(pytestconfig.rootpath), state / "minio")
    try:
        yield from running_stack(
            state,
            launcher="kubernetes",
            kube_state_dir=kube.state_dir,
            SIMLAB_RUNNER_MAX_WORKERS="16",
            **minio.env("simlab-k8s-chaos"),
        )
    finally:
        minio.stop()


def pod_fault(kube: Any) -> Fault:
    """Deletes a running worker pod at once, as a node loss would."""

    def strike(monitor: Monitor) -> set[str]:
        for job_id in sorted(monitor.running()):
            pods = kube.kubectl(
                "get", "pods", "-n", NAMESPACE, "-l", f"{JOB_ID_LABEL}={job_id}",
                "--field-selector=status.phase=Running", "-o", "name",
            ).stdout.split()  # fmt: skip
            if pods:
                kube.kubectl(
                    "delete",
                    "-n",
                    NAMESPACE,
                    pods[0],
                    "--grace-period=0",
                    "--force",
                    "--wait=false",
                )
                return {job_id}
        raise AssertionError("no running worker pod to delete")

    return Fault("worker pod", strike)


def built_in_only(specs: list[JobSpec]) -> list[JobSpec]:
    """The mix with the test model's jobs replaced by built-in ones of similar length."""
    rng = random.Random(5)
    return [
        spec
        if spec.model != "test_slow"
        else JobSpec(
            spec.request_id,
            "pi",
            {"samples": rng.randint(5, 20) * 1_000_000},
            spec.shards,
            spec.seed,
        )
        for spec in specs
    ]


@pytest.mark.timeout(3600)
def test_every_job_survives_every_part_killed_in_turn_on_kubernetes(
    k8s_chaos_stack: Stack,
    kube: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Client(k8s_chaos_stack.url, token="alice-token") as alice, capsys.disabled():
        print()
        specs = built_in_only(job_specs(JOBS, slow_seconds=0))
        faults = stack_faults(k8s_chaos_stack, worker=pod_fault(kube))
        report = chaos(k8s_chaos_stack, alice, specs, faults)
        text = report.text(f"chaos, Kubernetes launcher: {JOBS} jobs")
        print(f"\n{text}")
    verdict = report.verdict
    assert not verdict.problems, text
    assert all(r.seconds is not None for r in report.faults), text
    assert verdict.terminal == verdict.jobs and verdict.lost == 0 and verdict.doubled_jobs == 0
