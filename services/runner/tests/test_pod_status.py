"""Kubernetes statuses turned into reasons a user understands."""

from simlab_runner.core.pod_status import explain_pod, job_complete, job_failure


def pod(status: dict, shard: str = "1") -> dict:  # type: ignore[type-arg]
    annotations = {"batch.kubernetes.io/job-completion-index": shard}
    return {"metadata": {"annotations": annotations}, "status": status}


def container(state: dict) -> dict:  # type: ignore[type-arg]
    return {"containerStatuses": [{"name": "worker", "image": "simlab/worker:x", "state": state}]}


def test_a_healthy_pod_has_no_problem() -> None:
    assert explain_pod(pod(container({"running": {}}))) is None


def test_a_missing_image_is_fatal_and_named() -> None:
    problem = explain_pod(pod(container({"waiting": {"reason": "ErrImageNeverPull"}})))
    assert problem is not None and problem.fatal
    assert "shard 1" in problem.message and "simlab/worker:x" in problem.message


def test_oom_killed_is_said_in_words() -> None:
    problem = explain_pod(pod(container({"terminated": {"reason": "OOMKilled", "exitCode": 137}})))
    assert problem is not None and not problem.fatal
    assert problem.message == "shard 1 ran out of memory (OOMKilled)"


def test_unschedulable_carries_the_schedulers_message() -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient memory.",
    }
    problem = explain_pod(pod({"conditions": [condition]}, shard="0"))
    assert problem is not None
    assert (
        problem.message
        == "shard 0 cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory."
    )


def test_an_eviction_is_not_a_problem_the_job_replaces_the_pod() -> None:
    assert explain_pod(pod({"reason": "Evicted", "message": "node pressure"})) is None


def test_job_conditions() -> None:
    failed = {"status": {"conditions": [
        {"type": "Failed", "status": "True", "reason": "PodFailurePolicy", "message": "exit 2"}
    ]}}  # fmt: skip
    assert job_failure(failed) == "Kubernetes Job failed (PodFailurePolicy): exit 2"
    assert not job_complete(failed)
    assert job_complete({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})
    assert job_failure({"status": {}}) is None
