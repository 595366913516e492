"""The Kubernetes objects of a simulation, checked as data."""

import pytest

from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.manifests import (
    COMPLETION_INDEX,
    JOB_ID_LABEL,
    KIND_LABEL,
    KubeSettings,
    indexed_job,
    job_name,
    owned_by,
    secret_name,
    token_data,
    token_secret,
)
from simlab_runner.core.registration import RegistrationLimits

SETTINGS = KubeSettings(namespace="simlab-jobs", image="simlab/worker:dev", jobstore="10.0.0.1:5")
JOB = pb.Job(job_id="abc123", model="european_option", shards=4, kind=pb.JOB_KIND_RUN)
REGISTRATION = pb.Job(job_id="reg456", model="asian", shards=1, kind=pb.JOB_KIND_REGISTRATION)


def pod_spec() -> dict:  # type: ignore[type-arg]
    return indexed_job(JOB, SETTINGS)["spec"]["template"]["spec"]


def test_one_indexed_job_per_simulation_one_index_per_shard() -> None:
    job = indexed_job(JOB, SETTINGS)
    assert job["metadata"]["name"] == job_name("abc123") == "simlab-abc123"
    assert job["metadata"]["namespace"] == "simlab-jobs"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 4
    assert spec["maxFailedIndexes"] == 0
    assert pod_spec()["restartPolicy"] == "Never"


def test_the_runners_fair_share_bounds_how_many_shards_run_at_once() -> None:
    assert indexed_job(JOB, SETTINGS, parallelism=2)["spec"]["parallelism"] == 2
    assert indexed_job(JOB, SETTINGS, parallelism=2)["spec"]["completions"] == 4
    assert indexed_job(JOB, SETTINGS, parallelism=64)["spec"]["parallelism"] == 4


def test_shards_past_a_decided_stop_get_no_index() -> None:
    topped_up = pb.Job()
    topped_up.CopyFrom(JOB)
    topped_up.stop.CopyFrom(pb.StopInfo(reason=pb.STOP_REASON_PRECISION_REACHED, end_block=3))
    spec = indexed_job(topped_up, SETTINGS)["spec"]
    assert spec["completions"] == spec["parallelism"] == 3


def test_no_time_limit() -> None:
    job = indexed_job(JOB, SETTINGS)
    assert "activeDeadlineSeconds" not in job["spec"]
    assert "activeDeadlineSeconds" not in pod_spec()
    assert job["metadata"]["labels"][KIND_LABEL] == "run"


def test_a_registration_job_has_a_deadline_no_retry_and_its_kind_label() -> None:
    settings = KubeSettings("ns", "img", "js", registration=RegistrationLimits(cpu_s=30))
    job = indexed_job(REGISTRATION, settings)
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == 60
    assert spec["backoffLimitPerIndex"] == 0
    assert spec["completions"] == spec["parallelism"] == 1
    for labels in (job["metadata"]["labels"], spec["template"]["metadata"]["labels"]):
        assert labels[KIND_LABEL] == "registration"
        assert labels["app.kubernetes.io/managed-by"] == "simlab-runner"
    # Everything else is a run's: the restricted pod, its token Secret volume, its failure
    # policy (the worker's own verdict on the code ends it at once).
    run = indexed_job(pb.Job(job_id="reg456", model="asian", shards=1), settings)["spec"]
    assert spec["template"]["spec"] == run["template"]["spec"]
    assert spec["podFailurePolicy"] == run["podFailurePolicy"]
    assert KubeSettings("ns", "img", "js").registration.deadline_s == 240


@pytest.mark.parametrize("job", [JOB, REGISTRATION], ids=["run", "registration"])
def test_workers_get_no_object_store_settings(job: pb.Job) -> None:
    (container,) = indexed_job(job, SETTINGS)["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert not [name for name in env if "S3" in name or "OBJECTS" in name]
    assert "envFrom" not in container
    # Nothing from a Secret: besides literals, only the pod's own completion index.
    assert [e["valueFrom"] for e in container["env"] if "value" not in e] == [
        {"fieldRef": {"fieldPath": COMPLETION_INDEX}}
    ]
    # What the worker records as the runtime its code ran on.
    assert env["SIMLAB_WORKER_RUNTIME"] == "simlab/worker:dev"


def test_labels_name_the_app_and_the_simulation() -> None:
    job = indexed_job(JOB, SETTINGS)
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels[JOB_ID_LABEL] == "abc123"
        assert labels["app.kubernetes.io/part-of"] == "simlab"
        assert labels["app.kubernetes.io/managed-by"] == "simlab-runner"
        assert all(len(v) <= 63 for v in labels.values())


def test_failure_policy_fails_fast_on_bad_input_and_ignores_disruptions() -> None:
    spec = indexed_job(JOB, SETTINGS)["spec"]
    assert spec["backoffLimitPerIndex"] == 2
    fail, ignore = spec["podFailurePolicy"]["rules"]
    assert fail["action"] == "FailJob" and 2 in fail["onExitCodes"]["values"]
    assert fail["onExitCodes"]["containerName"] == "worker"
    assert ignore == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}


def test_ttl_comes_from_settings() -> None:
    assert indexed_job(JOB, SETTINGS)["spec"]["ttlSecondsAfterFinished"] == 3600
    no_ttl = KubeSettings("ns", "img", "js", ttl_seconds_after_finished=None)
    assert "ttlSecondsAfterFinished" not in indexed_job(JOB, no_ttl)["spec"]


def test_restricted_security_context() -> None:
    spec = pod_spec()
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    container = spec["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}


def test_resources_are_set() -> None:
    resources = pod_spec()["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert resources["limits"] == {"cpu": "1", "memory": "1Gi"}


def test_each_shards_token_is_a_key_of_a_secret_volume_never_in_the_command_or_env() -> None:
    tokens = {shard: f"w1.abc123.{shard}.1.99.mac{shard}" for shard in range(4)}
    secret = token_secret(JOB, tokens, SETTINGS)
    assert secret["metadata"]["name"] == secret_name("abc123")
    assert secret["stringData"] == {str(shard): token for shard, token in tokens.items()}
    assert token_data({2: "t"}) == {"2": "t"}  # the renewal's patch has the same keys
    container = pod_spec()["containers"][0]
    flat = repr(container["command"]) + repr(container.get("args", ""))
    flat += repr(container["env"])
    assert not any(token in flat for token in tokens.values())
    assert not any("secretKeyRef" in repr(e.get("valueFrom")) for e in container["env"])
    # Each pod reads the file of its own index: SIMLAB_WORKER_SHARD comes first, from the
    # completion index, so that $(SIMLAB_WORKER_SHARD) expands in the path after it.
    names = [e["name"] for e in container["env"]]
    assert names.index("SIMLAB_WORKER_SHARD") < names.index("SIMLAB_WORKER_TOKEN_FILE")
    shard = next(e for e in container["env"] if e["name"] == "SIMLAB_WORKER_SHARD")
    assert shard["valueFrom"] == {
        "fieldRef": {
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        }
    }
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert env["SIMLAB_WORKER_TOKEN_FILE"] == "/var/run/simlab/$(SIMLAB_WORKER_SHARD)"
    assert env["SIMLAB_WORKER_JOB_ID"] == "abc123"
    assert env["SIMLAB_WORKER_JOBSTORE"] == "10.0.0.1:5"
    volume = next(v for v in pod_spec()["volumes"] if v["name"] == "token")
    assert volume["secret"]["secretName"] == secret_name("abc123")
    mount = next(m for m in container["volumeMounts"] if m["name"] == "token")
    # Mounted as a directory (no subPath): the kubelet updates renewed tokens in place.
    assert mount == {"name": "token", "mountPath": "/var/run/simlab", "readOnly": True}


def test_the_secret_is_owned_by_its_job() -> None:
    patch = owned_by({"metadata": {"name": "simlab-abc123", "uid": "u-1"}})
    (ref,) = patch["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["name"], ref["uid"]) == ("Job", "simlab-abc123", "u-1")
