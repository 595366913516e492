"""The Kubernetes launcher's token Secret: one key per shard index at launch, patched with
fresh tokens while the Job runs, and no more once the runner is done with the job. The
Kubernetes API is a fake recording calls (tests/k8s has the real cluster)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kubernetes import client

from simlab.common.tokens import verify_worker_token
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters.k8s_launcher import KubernetesLauncher
from simlab_runner.adapters.worker_tokens import WorkerTokens
from simlab_runner.core.manifests import KubeSettings

SECRET = "secret"
JOB = pb.Job(job_id="abc123", model="pi", shards=2, state=pb.JOB_STATE_LAUNCHING)


class FakeApi:
    """CoreV1Api and BatchV1Api, as far as launching and renewing go."""

    def __init__(self) -> None:
        self.secrets: list[dict[str, Any]] = []
        self.patches: list[tuple[str, dict[str, Any]]] = []

    def create_namespaced_secret(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.secrets.append(body)
        return body

    def create_namespaced_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "metadata": {**body["metadata"], "uid": "u-1"}}

    def patch_namespaced_secret(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        self.patches.append((name, body))


async def nothing(*_: Any) -> None:
    return None


def check_tokens(data: dict[str, str], at: float) -> None:
    assert sorted(data) == ["0", "1"]
    for key, token in data.items():
        claims = verify_worker_token(SECRET, token, at)
        assert (claims.job_id, claims.shard, claims.attempt) == ("abc123", int(key), 1)


def test_the_secret_has_a_token_per_shard_renewed_until_the_job_is_forgotten() -> None:
    async def scenario() -> FakeApi:
        fake = FakeApi()
        launcher = KubernetesLauncher(
            KubeSettings("ns", "img", "js"),
            client.ApiClient(),
            nothing,
            nothing,
            nothing,  # type: ignore[arg-type]
            WorkerTokens(SECRET, ttl_s=1.5),
        )
        launcher.core = fake  # type: ignore[assignment]
        launcher.batch = fake  # type: ignore[assignment]
        await launcher.launch(JOB, JOB.shards)
        (secret,) = fake.secrets
        check_tokens(secret["stringData"], time.time())
        await asyncio.sleep(1.2)  # renewed every 0.5 s
        patched = [body for name, body in fake.patches if name == "simlab-abc123-token"]
        # The owner reference, then at least two renewals.
        renewals = [body["stringData"] for body in patched if "stringData" in body]
        assert len(renewals) >= 2
        check_tokens(renewals[-1], time.time())
        assert renewals[-1] != secret["stringData"]
        await launcher.forget(JOB.job_id)
        count = len(fake.patches)
        await asyncio.sleep(0.7)
        assert len(fake.patches) == count
        await launcher.close()
        return fake

    asyncio.run(scenario())
