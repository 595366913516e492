"""What Kubernetes says about a simulation's pods and Job, in words a user understands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Waiting reasons that never resolve by themselves.
_IMAGE_PROBLEMS = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
_CONFIG_PROBLEMS = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}


@dataclass(frozen=True)
class PodProblem:
    message: str
    # True when waiting cannot help: the run should fail now.
    fatal: bool


def shard_of(pod: dict[str, Any]) -> int | None:
    annotations = pod.get("metadata", {}).get("annotations") or {}
    index = annotations.get("batch.kubernetes.io/job-completion-index")
    return int(index) if index is not None else None


def explain_pod(pod: dict[str, Any]) -> PodProblem | None:
    """The pod's trouble, if it has any. Evictions and preemptions are not trouble: the Job
    replaces those pods (its podFailurePolicy ignores disruptions)."""
    shard = shard_of(pod)
    who = f"shard {shard}" if shard is not None else "a worker pod"
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in _IMAGE_PROBLEMS:
            detail = waiting.get("message", "")
            image = container.get("image", "?")
            message = f"{who}: image {image} cannot be pulled ({reason}) {detail}"
            return PodProblem(message.strip(), True)
        if reason in _CONFIG_PROBLEMS:
            return PodProblem(
                f"{who}: container cannot start ({reason}): {waiting.get('message', '')}", True
            )
        terminated = (container.get("state") or {}).get("terminated") or {}
        if terminated.get("reason") == "OOMKilled":
            return PodProblem(f"{who} ran out of memory (OOMKilled)", fatal=False)
    if status.get("reason") == "Evicted":
        return None
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return PodProblem(f"{who} cannot be scheduled: {condition.get('message', '')}", False)
    return None


def job_failure(job_object: dict[str, Any]) -> str | None:
    """The Job's own failure condition, if it has failed."""
    for condition in (job_object.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            reason, message = condition.get("reason", "?"), condition.get("message", "")
            return f"Kubernetes Job failed ({reason}): {message}"
    return None


def job_complete(job_object: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in (job_object.get("status") or {}).get("conditions") or []
    )
