"""Kubernetes objects for one job, built by pure functions and tested as data: an Indexed Job
(one pod per shard) and the Secret holding the workers' tokens, one key per shard index (each
pod reads its own index's file; the runner patches the Secret to renew them). A registration
job (the
inspection of pushed code) is a one-shard run with a deadline and no retry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simlab.transport.precision import shards_with_blocks
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.decisions import EXIT_BAD_INPUT, EXIT_MODEL_FAILED
from simlab_runner.core.registration import DEFAULT_LIMITS, RegistrationLimits, is_registration

CONTAINER = "worker"
TOKEN_DIR = "/var/run/simlab"
# Set on each pod of an Indexed Job by Kubernetes: the pod's shard.
COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
JOB_ID_LABEL = "simlab.io/job-id"
KIND_LABEL = "simlab.io/kind"
MANAGED_BY = {"app.kubernetes.io/managed-by": "simlab-runner"}
# A restricted pod runs as a numeric non-root user; the worker image has this one.
WORKER_UID = 10001


@dataclass(frozen=True)
class Resources:
    cpu: str
    memory: str


@dataclass(frozen=True)
class KubeSettings:
    """What the manifests need to know, from the runner's settings (simlab_runner.settings)."""

    namespace: str
    image: str
    jobstore: str
    image_pull_policy: str = "IfNotPresent"
    # Each failed index is retried this many times (pods lost to disruptions don't count).
    backoff_limit_per_index: int = 2
    ttl_seconds_after_finished: int | None = 3600
    requests: Resources = Resources("500m", "512Mi")
    limits: Resources = Resources("1", "1Gi")
    registration: RegistrationLimits = DEFAULT_LIMITS


def job_name(job_id: str) -> str:
    return f"simlab-{job_id}"


def secret_name(job_id: str) -> str:
    return f"simlab-{job_id}-token"


def labels(job: pb.Job) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "simlab-worker",
        "app.kubernetes.io/part-of": "simlab",
        "app.kubernetes.io/component": "simulation",
        **MANAGED_BY,
        JOB_ID_LABEL: job.job_id,
        KIND_LABEL: "registration" if is_registration(job) else "run",
        "simlab.io/model": job.model.replace("_", "-")[:63],
    }


def selector() -> str:
    return ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())


def token_data(tokens: Mapping[int, str]) -> dict[str, str]:
    """The Secret's keys: each shard's token under its index."""
    return {str(shard): token for shard, token in tokens.items()}


def token_secret(job: pb.Job, tokens: Mapping[int, str], settings: KubeSettings) -> dict[str, Any]:
    """The workers' tokens travel as a Secret volume, never in the env or command line."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(job.job_id),
            "namespace": settings.namespace,
            "labels": labels(job),
        },
        "type": "Opaque",
        "stringData": token_data(tokens),
    }


def owned_by(job_object: dict[str, Any]) -> dict[str, Any]:
    """A patch that makes the Secret go when its Job goes."""
    meta = job_object["metadata"]
    return {
        "metadata": {
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "blockOwnerDeletion": False,
                }
            ]
        }
    }


def indexed_job(
    job: pb.Job, settings: KubeSettings, parallelism: int | None = None
) -> dict[str, Any]:
    """The Job of a simulation: one index per shard that has blocks to run, `parallelism` of
    them running at once (the runner's fair share for it; None: every shard)."""
    # Workers talk to the job store alone: no object-store address or credentials here.
    env = {
        "SIMLAB_WORKER_JOB_ID": job.job_id,
        "SIMLAB_WORKER_JOBSTORE": settings.jobstore,
        # $(...) expands SIMLAB_WORKER_SHARD, set before it: the file of this pod's index.
        "SIMLAB_WORKER_TOKEN_FILE": f"{TOKEN_DIR}/$(SIMLAB_WORKER_SHARD)",
        # Recorded with each model version and run: what the code ran on.
        "SIMLAB_WORKER_RUNTIME": settings.image,
        # The root filesystem is read-only: matplotlib and friends write under /tmp.
        "HOME": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
    }
    pod_labels = labels(job)
    # A top-up's stop may be known at once (decided over the blocks it reused).
    shards = shards_with_blocks(job)
    spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": shards,
        "parallelism": min(parallelism or shards, shards),
        "backoffLimitPerIndex": settings.backoff_limit_per_index,
        # Any index that fails for good fails the whole run: no partial result is useful.
        "maxFailedIndexes": 0,
        # No activeDeadlineSeconds for a run: simulations have no time limit.
        "podFailurePolicy": {
            "rules": [
                {
                    # The model or its parameters are wrong: retrying cannot help.
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": CONTAINER,
                        "operator": "In",
                        "values": [EXIT_MODEL_FAILED, EXIT_BAD_INPUT],
                    },
                },
                {
                    # Preemption, eviction, node drain: not the run's fault.
                    "action": "Ignore",
                    "onPodConditions": [{"type": "DisruptionTarget"}],
                },
            ]
        },
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": WORKER_UID,
                    "runAsGroup": WORKER_UID,
                    # Secret files are group-readable by this group only.
                    "fsGroup": WORKER_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": CONTAINER,
                        "image": settings.image,
                        "imagePullPolicy": settings.image_pull_policy,
                        "command": ["python3", "-m", "simlab_worker"],
                        "env": [
                            {
                                "name": "SIMLAB_WORKER_SHARD",
                                "valueFrom": {"fieldRef": {"fieldPath": COMPLETION_INDEX}},
                            },
                            *({"name": k, "value": v} for k, v in env.items()),
                        ],
                        "resources": {
                            "requests": {
                                "cpu": settings.requests.cpu,
                                "memory": settings.requests.memory,
                            },
                            "limits": {
                                "cpu": settings.limits.cpu,
                                "memory": settings.limits.memory,
                            },
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [
                            {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }
                ],
                "volumes": [
                    {
                        "name": "token",
                        "secret": {"secretName": secret_name(job.job_id), "defaultMode": 0o440},
                    },
                    {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                ],
            },
        },
    }
    if settings.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = settings.ttl_seconds_after_finished
    if is_registration(job):
        # Inspecting code is short and says the same on a second try: a deadline, no retry.
        spec["activeDeadlineSeconds"] = settings.registration.deadline_s
        spec["backoffLimitPerIndex"] = 0
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(job.job_id),
            "namespace": settings.namespace,
            "labels": pod_labels,
        },
        "spec": spec,
    }
