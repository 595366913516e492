"""The runner's settings: defaults, both launchers, and one named variable per mistake."""

import os
from pathlib import Path

import pytest

from simlab.adapters.s3_store import S3Config
from simlab.common.settings import Env, SettingsError
from simlab_runner.core.manifests import Resources
from simlab_runner.core.registration import RegistrationLimits
from simlab_runner.settings import (
    KubernetesLauncherSettings,
    LocalLauncherSettings,
    Settings,
    kube_settings,
)

BASE = {
    "SIMLAB_RUNNER_JOBSTORE": "127.0.0.1:5",
    "SIMLAB_RUNNER_SERVICE_TOKEN": "service-token",
    "SIMLAB_RUNNER_JOB_TOKEN_SECRET": "job-secret",
    "SIMLAB_RUNNER_NATS_URL": "nats://127.0.0.1:4",
    "SIMLAB_RUNNER_OBJECTS_DIR": "/srv/objects",
    "SIMLAB_RUNNER_STATE_DIR": "/srv/runner",
}
KUBERNETES = {
    "SIMLAB_RUNNER_LAUNCHER": "kubernetes",
    "SIMLAB_RUNNER_WORKER_IMAGE": "simlab/worker:1",
    "SIMLAB_RUNNER_WORKER_JOBSTORE": "simlab-jobstore.simlab.svc.cluster.local:50051",
}


def test_the_local_launcher_by_default_with_its_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings.log_level == "INFO"
    assert settings.jobstore_retry_s == 60.0
    assert settings.stop_workers_on_exit is True
    assert settings.object_store == Path("/srv/objects")
    launcher = settings.launcher
    assert isinstance(launcher, LocalLauncherSettings)
    assert launcher.state_dir == Path("/srv/runner/local")
    assert launcher.stop_grace_s == 10.0
    assert launcher.registration == RegistrationLimits(cpu_s=120, memory_mb=2048)
    assert launcher.warm_start is True


def test_the_warm_start_can_be_turned_off() -> None:
    launcher = Settings.from_env({**BASE, "SIMLAB_RUNNER_WARM_START": "false"}).launcher
    assert isinstance(launcher, LocalLauncherSettings)
    assert launcher.warm_start is False


def test_the_worker_caps_default_to_the_cpus_locally_and_64_on_kubernetes() -> None:
    local = Settings.from_env(BASE)
    assert local.max_workers == local.max_workers_per_user == len(os.sched_getaffinity(0))
    kubernetes = Settings.from_env({**BASE, **KUBERNETES})
    assert kubernetes.max_workers == kubernetes.max_workers_per_user == 64
    capped = Settings.from_env({**BASE, "SIMLAB_RUNNER_MAX_WORKERS": "8"})
    assert (capped.max_workers, capped.max_workers_per_user) == (8, 8)
    per_user = {"SIMLAB_RUNNER_MAX_WORKERS": "8", "SIMLAB_RUNNER_MAX_WORKERS_PER_USER": "2"}
    assert Settings.from_env({**BASE, **per_user}).max_workers_per_user == 2


def test_registration_limits_are_set_for_both_launchers() -> None:
    limits = {
        "SIMLAB_RUNNER_REGISTRATION_CPU_S": "30",
        "SIMLAB_RUNNER_REGISTRATION_MEMORY_MB": "512",
    }
    local = Settings.from_env({**BASE, **limits}).launcher
    kubernetes = Settings.from_env({**BASE, **KUBERNETES, **limits}).launcher
    assert isinstance(local, LocalLauncherSettings)
    assert isinstance(kubernetes, KubernetesLauncherSettings)
    assert local.registration == kubernetes.manifests.registration == RegistrationLimits(30, 512)


def test_secrets_stay_out_of_the_settings_repr() -> None:
    assert "service-token" not in repr(Settings.from_env(BASE))
    assert "job-secret" not in repr(Settings.from_env(BASE))


def test_local_workers_get_the_environment_less_other_services_and_object_store_settings() -> None:
    environ = {
        **BASE,
        "SIMLAB_JOBSTORE_DATABASE_URL": "pg",
        "SIMLAB_GATEWAY_X": "1",
        "PATH": "/b",
        # Workers reach bundles and results through the job store alone.
        "SIMLAB_S3_ENDPOINT": "http://127.0.0.1:9000",
        "SIMLAB_S3_ACCESS_KEY": "a",
        "SIMLAB_S3_SECRET_KEY": "s",
        "SIMLAB_S3_BUCKET": "results",
        "SIMLAB_WORKER_S3_SECRET_KEY": "w",
        "SIMLAB_WORKER_OBJECTS_DIR": "/srv/objects",
        "SIMLAB_WORKER_RUNTIME": "my laptop",
    }
    launcher = Settings.from_env(environ).launcher
    assert isinstance(launcher, LocalLauncherSettings)
    assert launcher.worker_env == {
        "PATH": "/b",
        "SIMLAB_WORKER_RUNTIME": "my laptop",
        "SIMLAB_WORKER_JOBSTORE": "127.0.0.1:5",
    }


def test_s3_wins_over_the_local_directory() -> None:
    environ = {
        **BASE,
        "SIMLAB_S3_ENDPOINT": "http://127.0.0.1:9000",
        "SIMLAB_S3_ACCESS_KEY": "a",
        "SIMLAB_S3_SECRET_KEY": "s",
        "SIMLAB_S3_BUCKET": "results",
    }
    objects = Settings.from_env(environ).object_store
    assert isinstance(objects, S3Config)
    assert (objects.endpoint, objects.bucket, objects.secure) == (
        "127.0.0.1:9000",
        "results",
        False,
    )


def test_the_kubernetes_launcher_needs_no_state_dir() -> None:
    environ = {k: v for k, v in BASE.items() if k != "SIMLAB_RUNNER_STATE_DIR"} | KUBERNETES
    launcher = Settings.from_env(environ).launcher
    assert isinstance(launcher, KubernetesLauncherSettings)
    assert launcher.kubeconfig is None  # in-cluster
    assert launcher.unschedulable_grace_s == 120.0
    manifests = launcher.manifests
    assert (manifests.namespace, manifests.image_pull_policy) == ("simlab-jobs", "IfNotPresent")
    assert (manifests.backoff_limit_per_index, manifests.ttl_seconds_after_finished) == (2, 3600)
    assert (manifests.requests, manifests.limits) == (
        Resources("500m", "512Mi"),
        Resources("1", "1Gi"),
    )
    kubeconfig = {**environ, "SIMLAB_RUNNER_KUBECONFIG": "/home/me/.kube/config"}
    launcher = Settings.from_env(kubeconfig).launcher
    assert isinstance(launcher, KubernetesLauncherSettings)
    assert launcher.kubeconfig == "/home/me/.kube/config"


def test_kubernetes_settings_from_the_runners_environment() -> None:
    environ = {
        "SIMLAB_RUNNER_WORKER_IMAGE": "simlab/worker:1",
        "SIMLAB_RUNNER_WORKER_JOBSTORE": "simlab-jobstore.simlab.svc.cluster.local:50051",
        "SIMLAB_RUNNER_K8S_NAMESPACE": "sims",
        "SIMLAB_RUNNER_CPU_LIMIT": "2",
        "SIMLAB_RUNNER_SERVICE_TOKEN": "never-for-workers",
    }
    settings = kube_settings(Env("SIMLAB_RUNNER", environ))
    assert (settings.namespace, settings.image) == ("sims", "simlab/worker:1")
    assert settings.jobstore == "simlab-jobstore.simlab.svc.cluster.local:50051"
    assert settings.limits == Resources("2", "1Gi")
    assert settings.registration == RegistrationLimits()
    del environ["SIMLAB_RUNNER_WORKER_IMAGE"]
    with pytest.raises(SettingsError, match="SIMLAB_RUNNER_WORKER_IMAGE is not set"):
        kube_settings(Env("SIMLAB_RUNNER", environ))


@pytest.mark.parametrize(
    ("name", "value", "launcher"),
    [
        ("SIMLAB_RUNNER_JOBSTORE", "", BASE),
        ("SIMLAB_RUNNER_OBJECTS_DIR", "", BASE),
        ("SIMLAB_RUNNER_STATE_DIR", "", BASE),
        ("SIMLAB_RUNNER_LAUNCHER", "docker", BASE),
        ("SIMLAB_RUNNER_LOG_LEVEL", "chatty", BASE),
        ("SIMLAB_RUNNER_JOBSTORE_RETRY_S", "abc", BASE),
        ("SIMLAB_RUNNER_JOBSTORE_RETRY_S", "-1", BASE),
        ("SIMLAB_RUNNER_STOP_GRACE_S", "-1", BASE),
        ("SIMLAB_RUNNER_STOP_WORKERS_ON_EXIT", "maybe", BASE),
        ("SIMLAB_RUNNER_WARM_START", "lukewarm", BASE),
        ("SIMLAB_RUNNER_REGISTRATION_CPU_S", "0", BASE),
        ("SIMLAB_RUNNER_REGISTRATION_CPU_S", "2m", KUBERNETES),
        ("SIMLAB_RUNNER_REGISTRATION_MEMORY_MB", "100", BASE),
        ("SIMLAB_RUNNER_WORKER_JOBSTORE", "", KUBERNETES),
        ("SIMLAB_RUNNER_UNSCHEDULABLE_GRACE_S", "soon", KUBERNETES),
        ("SIMLAB_RUNNER_BACKOFF_LIMIT_PER_INDEX", "-1", KUBERNETES),
        ("SIMLAB_RUNNER_TTL_SECONDS_AFTER_FINISHED", "1h", KUBERNETES),
        ("SIMLAB_RUNNER_IMAGE_PULL_POLICY", "Sometimes", KUBERNETES),
        ("SIMLAB_RUNNER_CPU_REQUEST", "half", KUBERNETES),
        ("SIMLAB_RUNNER_MEMORY_LIMIT", "1GB", KUBERNETES),
        ("SIMLAB_RUNNER_MAX_WORKERS", "0", BASE),
        ("SIMLAB_RUNNER_MAX_WORKERS_PER_USER", "many", KUBERNETES),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str, launcher: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, **launcher, name: value})


@pytest.mark.parametrize("quantity", ["500m", "1", "0.5", "2Gi", "512Mi", "1e3", "100k"])
def test_kubernetes_quantities_are_accepted(quantity: str) -> None:
    environ = {**BASE, **KUBERNETES, "SIMLAB_RUNNER_MEMORY_REQUEST": quantity}
    launcher = Settings.from_env(environ).launcher
    assert isinstance(launcher, KubernetesLauncherSettings)
    assert launcher.manifests.requests.memory == quantity


def test_worker_tokens_expire_after_an_hour_by_default_and_not_too_soon_on_kubernetes() -> None:
    assert Settings.from_env(BASE).worker_token_ttl_s == 3600.0
    short = {"SIMLAB_RUNNER_WORKER_TOKEN_TTL_S": "3"}
    assert Settings.from_env({**BASE, **short}).worker_token_ttl_s == 3.0
    # A renewed Secret reaches the pods' files only after the kubelet's sync.
    with pytest.raises(SettingsError, match="SIMLAB_RUNNER_WORKER_TOKEN_TTL_S"):
        Settings.from_env({**BASE, **KUBERNETES, **short})
    with pytest.raises(SettingsError, match="SIMLAB_RUNNER_WORKER_TOKEN_TTL_S"):
        Settings.from_env({**BASE, "SIMLAB_RUNNER_WORKER_TOKEN_TTL_S": "0"})
