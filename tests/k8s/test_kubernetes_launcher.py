"""The runner's Kubernetes launcher against the real local cluster: the embedded stack with
SIMLAB_RUNNER_LAUNCHER=kubernetes, results in a real MinIO, the worker image built here, and
the runner authenticated as its own ServiceAccount."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simlab.client import Client
from simlab.devstack.minio_server import minio_binary, start_minio
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import running_stack

pytestmark = pytest.mark.e2e
OPTION = {"spot": 100, "strike": 105, "volatility": 0.2, "maturity": 1, "rate": 0.05}


@pytest.fixture(scope="module")
def kstack(
    kube: Any, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("k8s-stack")
    minio = start_minio(minio_binary(pytestconfig.rootpath), state / "minio")
    try:
        yield from running_stack(
            state, launcher="kubernetes", kube_state_dir=kube.state_dir, **minio.env("simlab-k8s")
        )
    finally:
        minio.stop()


@pytest.fixture
def k8s_alice(kstack: Stack) -> Iterator[Client]:
    with Client(kstack.url, token="alice-token") as alice:
        yield alice


@pytest.fixture(scope="module")
def admin(kube: Any) -> client.BatchV1Api:
    return client.BatchV1Api(config.new_client_from_config(str(kube.kubeconfig)))


def simlab_jobs(admin: client.BatchV1Api) -> list[Any]:
    listed = admin.list_namespaced_job(
        "simlab-jobs", label_selector="app.kubernetes.io/managed-by=simlab-runner"
    )
    return [j for j in listed.items if not j.metadata.deletion_timestamp]


def wait_state(alice: Client, job_id: str, state: int, timeout: float = 180) -> pb.Job:
    deadline = time.monotonic() + timeout
    for event in alice.watch(job_id):
        if event.job.state == state or time.monotonic() > deadline:
            return event.job
    return alice.get(job_id)


def test_a_run_on_kubernetes_is_bit_identical_to_the_local_launcher(
    stack: Stack, kstack: Stack, k8s_alice: Client, admin: client.BatchV1Api
) -> None:
    with Client(stack.url, token="alice-token") as local:
        expected = local.wait(
            local.submit(
                "european_option", {**OPTION, "paths": 1_000_000}, shards=3, seed=11
            ).job_id,
            progress=False,
        )
    job = k8s_alice.submit("european_option", {**OPTION, "paths": 1_000_000}, shards=3, seed=11)
    events = list(k8s_alice.watch(job.job_id))
    done = events[-1].job
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert [h.state for h in done.history] == [
        pb.JOB_STATE_QUEUED, pb.JOB_STATE_LAUNCHING, pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED,
    ]  # fmt: skip
    assert any(e.kind == pb.EVENT_KIND_PROGRESS for e in events)
    assert done.summary == expected.summary
    names = {a.name for a in k8s_alice.artifacts(job.job_id)}
    assert {"summary.json", "plot.png", "data.csv", "data.npz"} <= names
    # The Indexed Job ran one pod per shard.
    (kjob,) = [j for j in simlab_jobs(admin) if j.metadata.labels["simlab.io/job-id"] == job.job_id]
    assert kjob.spec.completion_mode == "Indexed" and kjob.spec.completions == 3
    assert kjob.spec.active_deadline_seconds is None
    deadline = time.monotonic() + 60
    while not {f"logs/shard-{i}.log" for i in range(3)} <= names:
        assert time.monotonic() < deadline, f"pod logs were not kept: {sorted(names)}"
        time.sleep(1)
        names = {a.name for a in k8s_alice.artifacts(job.job_id)}


def test_a_precision_target_stops_on_kubernetes_where_it_stops_locally(
    stack: Stack, k8s_alice: Client
) -> None:
    params = {**OPTION, "paths": 8_000_000}
    with Client(stack.url, token="alice-token") as local:
        expected = local.wait(
            local.submit("european_option", params, shards=1, seed=7, abs_tol=0.03).job_id,
            progress=False,
        )
    job = k8s_alice.submit("european_option", params, shards=3, seed=7, abs_tol=0.03)
    done = k8s_alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert done.stop.reason == pb.STOP_REASON_PRECISION_REACHED
    assert (done.stop.end_block, done.stop.half_width) == (
        expected.stop.end_block,
        expected.stop.half_width,
    )
    assert done.summary == expected.summary


def test_a_study_on_kubernetes_gives_each_point_the_local_launchers_numbers(
    stack: Stack, k8s_alice: Client
) -> None:
    def points(client: Client) -> list[pb.StudyPoint]:
        study = client.study("pi", sweep={"samples": [1_000_000, 2_000_000, 3_000_000]}, seed=9)
        done = study.wait(progress=False).info
        assert done.state == pb.STUDY_STATE_SUCCEEDED, [p.error for p in study.points()]
        assert done.counts.succeeded == 3
        return list(study.points())

    with Client(stack.url, token="alice-token") as local:
        expected = points(local)
    on_kubernetes = points(k8s_alice)
    assert [(p.seed, p.progress.samples_done) for p in on_kubernetes] == [
        (p.seed, p.progress.samples_done) for p in expected
    ]
    assert [(p.progress.estimate, p.progress.stderr) for p in on_kubernetes] == [
        (p.progress.estimate, p.progress.stderr) for p in expected
    ]


def test_cancel_deletes_the_job_and_ends_cancelled(
    k8s_alice: Client, admin: client.BatchV1Api
) -> None:
    job = k8s_alice.submit("pi", {"samples": 3_000_000_000}, shards=2, seed=3)
    running = wait_state(k8s_alice, job.job_id, pb.JOB_STATE_RUNNING)
    assert running.state == pb.JOB_STATE_RUNNING, running.error.message
    k8s_alice.cancel(job.job_id)
    done = k8s_alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_CANCELLED
    assert job.job_id not in [j.metadata.labels["simlab.io/job-id"] for j in simlab_jobs(admin)]


def test_a_running_jobs_output_is_followed_live_from_its_pods(k8s_alice: Client) -> None:
    """TailLogs shows each pod's output while it runs (the runner follows the pod logs), not
    only once the pods have ended and their logs are stored."""
    job = k8s_alice.submit("pi", {"samples": 3_000_000_000}, shards=2, seed=8)
    assert wait_state(k8s_alice, job.job_id, pb.JOB_STATE_RUNNING).state == pb.JOB_STATE_RUNNING
    seen: dict[int, bytes] = {0: b"", 1: b""}
    for chunk in k8s_alice.logs(job.job_id, follow=True):
        seen[chunk.shard] += chunk.data
        if all(b"starting" in data for data in seen.values()):
            break
    during = k8s_alice.get(job.job_id)
    k8s_alice.cancel(job.job_id)
    assert all(b"starting" in data for data in seen.values()), seen
    assert during.state == pb.JOB_STATE_RUNNING, during.state
    assert k8s_alice.wait(job.job_id, progress=False).state == pb.JOB_STATE_CANCELLED


def test_a_job_deleted_behind_the_runners_back_fails_with_that_reason(
    k8s_alice: Client, admin: client.BatchV1Api
) -> None:
    job = k8s_alice.submit("pi", {"samples": 3_000_000_000}, shards=2, seed=4)
    assert wait_state(k8s_alice, job.job_id, pb.JOB_STATE_RUNNING).state == pb.JOB_STATE_RUNNING
    admin.delete_namespaced_job(
        f"simlab-{job.job_id}", "simlab-jobs", propagation_policy="Background"
    )
    done = k8s_alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_FAILED
    assert "deleted outside Simlab" in done.error.message


def test_runner_killed_mid_run_then_restarted_the_job_still_ends(
    kstack: Stack, k8s_alice: Client, admin: client.BatchV1Api
) -> None:
    job = k8s_alice.submit("pi", {"samples": 400_000_000}, shards=2, seed=5)
    for event in k8s_alice.watch(job.job_id):
        if event.job.progress.blocks_done >= 2:
            break
    kstack.kill("runner")
    kstack.start_service("runner")
    done = k8s_alice.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert done.progress.samples_done == 400_000_000


def test_a_pod_over_its_memory_limit_fails_the_job_as_oom_killed(
    kstack: Stack, k8s_alice: Client, admin: client.BatchV1Api
) -> None:
    kstack.stop_service("runner")
    kstack.extra_env["SIMLAB_RUNNER_MEMORY_LIMIT"] = "24Mi"
    kstack.extra_env["SIMLAB_RUNNER_MEMORY_REQUEST"] = "24Mi"
    try:
        kstack.start_service("runner")
        job = k8s_alice.submit("pi", {"samples": 1_000_000}, seed=6)
        done = k8s_alice.wait(job.job_id, progress=False)
    finally:
        kstack.stop_service("runner")
        del kstack.extra_env["SIMLAB_RUNNER_MEMORY_LIMIT"]
        del kstack.extra_env["SIMLAB_RUNNER_MEMORY_REQUEST"]
        kstack.start_service("runner")
    assert done.state == pb.JOB_STATE_FAILED
    assert "OOMKilled" in done.error.message
    # No orphan: the failed Job was removed.
    deadline = time.monotonic() + 60
    while job.job_id in [j.metadata.labels["simlab.io/job-id"] for j in simlab_jobs(admin)]:
        assert time.monotonic() < deadline, "the failed Job was left behind"
        time.sleep(1)


def test_the_runner_account_may_do_only_what_it_needs(kstack: Stack) -> None:
    runner = config.new_client_from_config(str(kstack.state_dir / "runner.kubeconfig"))
    core = client.CoreV1Api(runner)
    core.list_namespaced_pod("simlab-jobs")  # allowed
    refused = [
        lambda: core.list_namespaced_secret("kube-system"),
        lambda: core.list_namespaced_secret("simlab-jobs"),
        lambda: core.create_namespaced_pod(
            "simlab-jobs", {"metadata": {"name": "x"}, "spec": {"containers": []}}
        ),
        lambda: client.BatchV1Api(runner).list_namespaced_job("default"),
    ]
    for call in refused:
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == 403


USER_MODEL = '''
"""Mean of a log-normal (closed form exp(sigma^2 / 2))."""
import numpy as np

BLOCK_SIZE = 25_000


def simulate(rng, n, *, sigma: float = 0.5):
    return np.exp(sigma * rng.standard_normal(n))
'''


def test_a_user_model_registers_in_a_pod_and_runs_bit_identical_to_local(
    stack: Stack, kstack: Stack, k8s_alice: Client, admin: client.BatchV1Api, tmp_path: Any
) -> None:
    entry = tmp_path / "lognormal.py"
    entry.write_text(USER_MODEL)
    # Registration runs the code in the simulation namespace, under the restricted pod.
    model = k8s_alice.push_model(entry, name="k8s_lognormal")
    assert model.reproducible and model.runtime
    with Client(stack.url, token="alice-token") as local:
        local.push_model(entry, name="k8s_lognormal")
        expected = local.wait(
            local.submit("k8s_lognormal", {"samples": 200_000}, shards=1, seed=4).job_id,
            progress=False,
        )
        expected_summary = local.summary(expected.job_id)
    job = k8s_alice.submit("k8s_lognormal", {"samples": 200_000}, shards=4, seed=4)
    done = wait_state(k8s_alice, job.job_id, pb.JOB_STATE_SUCCEEDED)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    assert done.code_sha256 == model.code_sha256 == expected.code_sha256
    assert k8s_alice.summary(done.job_id) == expected_summary
    pods = client.CoreV1Api(admin.api_client).list_namespaced_pod(
        "simlab-jobs", label_selector=f"simlab.io/job-id={done.job_id}"
    )
    for pod in pods.items:
        env = {e.name for c in pod.spec.containers for e in (c.env or [])}
        assert not any("S3" in name or "OBJECTS" in name for name in env), env
