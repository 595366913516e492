"""The runner's configuration, from SIMLAB_RUNNER_* variables (and the shared SIMLAB_S3_*); a
missing or malformed one stops the runner before it connects to anything.

Both launchers:
- JOBSTORE               host:port of the job store
- SERVICE_TOKEN          the runner's token for the job store
- JOB_TOKEN_SECRET       signs the workers' tokens (one per shard launch)
- WORKER_TOKEN_TTL_S     how long a worker's token is valid (default 3600); renewed at a third
                         of that while the shard runs (Kubernetes: at least 300, for the
                         kubelet's delay in updating a mounted Secret)
- NATS_URL               NATS JetStream (job events in, live worker output out)
- LAUNCHER               local (default) or kubernetes
- LOG_LEVEL              DEBUG, INFO (default), WARNING, ERROR
- JOBSTORE_RETRY_S       how long a failing (not refusing) job store is retried (default 60)
- STOP_WORKERS_ON_EXIT   stop the workers on a clean shutdown (default true; only local
                         workers are stopped: pods are the cluster's)
- OBJECTS_DIR or S3_*    where the runner stores workers' logs (see
                         simlab.adapters.objectstore_factory); workers never get these
- REGISTRATION_CPU_S     CPU seconds a registration job (the inspection of pushed code) may
                         use (default 120); its pod's deadline is twice that
- REGISTRATION_MEMORY_MB address space of a local registration worker, MiB (default 2048)
- MAX_WORKERS            shards running at once, all jobs together (default: local, the
                         number of CPUs; kubernetes, 64); queued jobs wait their turn
- MAX_WORKERS_PER_USER   shards of one user's jobs running at once (default MAX_WORKERS)
local:
- STATE_DIR              where the workers' pids, logs and exit codes are kept (under local/)
- STOP_GRACE_S           how long a stopped worker has between SIGTERM and SIGKILL (default 10)
- WARM_START             fork run workers from a process that imported the worker, NumPy,
                         SciPy and matplotlib once, instead of starting each afresh (default
                         true; registration workers always start afresh)
kubernetes:
- KUBECONFIG             a kubeconfig file; unset: the in-cluster ServiceAccount
- WORKER_IMAGE           the worker image
- WORKER_JOBSTORE        the job store's address as pods reach it
- K8S_NAMESPACE          where simulations run (default simlab-jobs)
- IMAGE_PULL_POLICY      Always, IfNotPresent (default) or Never
- CPU_REQUEST, MEMORY_REQUEST, CPU_LIMIT, MEMORY_LIMIT
                         each worker pod's resources (defaults 500m, 512Mi, 1, 1Gi)
- BACKOFF_LIMIT_PER_INDEX    retries of a failed shard (default 2)
- TTL_SECONDS_AFTER_FINISHED how long finished Jobs are kept (default 3600)
- UNSCHEDULABLE_GRACE_S  how long a pod may stay unschedulable before the run fails (default 120)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from simlab.adapters.objectstore_factory import ObjectStoreSettings, object_store_settings
from simlab.common.settings import Env, SettingsError
from simlab_runner.core.manifests import KubeSettings, Resources
from simlab_runner.core.registration import DEFAULT_LIMITS, RegistrationLimits

PREFIX = "SIMLAB_RUNNER"
# Other services' settings, secrets among them, never reach a worker; nor does any
# object-store setting (workers read bundles and write results through the job store).
PRIVATE_PREFIXES = (
    "SIMLAB_RUNNER_",
    "SIMLAB_JOBSTORE_",
    "SIMLAB_GATEWAY_",
    "SIMLAB_S3_",
    "SIMLAB_WORKER_S3_",
    "SIMLAB_WORKER_OBJECTS_DIR",
)
# The smallest address space a Python worker with NumPy starts in.
MIN_REGISTRATION_MEMORY_MB = 256
# A mounted Secret reaches a pod's files a minute or so after the runner renews it.
MIN_WORKER_TOKEN_TTL_S = {"local": 1.0, "kubernetes": 300.0}
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
# Simulation pods running at once on Kubernetes, unless SIMLAB_RUNNER_MAX_WORKERS says.
KUBERNETES_MAX_WORKERS = 64
# A Kubernetes resource quantity: a decimal number with an SI or binary suffix or an exponent.
QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?")


@dataclass(frozen=True)
class LocalLauncherSettings:
    kind: ClassVar[str] = "local"
    state_dir: Path
    stop_grace_s: float
    registration: RegistrationLimits
    warm_start: bool
    # The workers' environment: the runner's, less other services' and object-store settings.
    worker_env: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class KubernetesLauncherSettings:
    kind: ClassVar[str] = "kubernetes"
    # None: the in-cluster configuration (the pod's ServiceAccount).
    kubeconfig: str | None
    unschedulable_grace_s: float
    manifests: KubeSettings = field(repr=False)


@dataclass(frozen=True)
class Settings:
    log_level: str
    jobstore: str
    service_token: str = field(repr=False)
    job_token_secret: str = field(repr=False)
    worker_token_ttl_s: float
    jobstore_retry_s: float
    nats_url: str
    # Where the runner stores workers' logs.
    object_store: ObjectStoreSettings = field(repr=False)
    stop_workers_on_exit: bool
    launcher: LocalLauncherSettings | KubernetesLauncherSettings
    # Shards running at once: all jobs together, and one user's (see core.scheduler).
    max_workers: int
    max_workers_per_user: int

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        jobstore = env.str("JOBSTORE")
        launcher = _launcher(env, jobstore)
        default_workers = (
            KUBERNETES_MAX_WORKERS
            if isinstance(launcher, KubernetesLauncherSettings)
            else len(os.sched_getaffinity(0))
        )
        max_workers = env.int("MAX_WORKERS", default_workers, minimum=1)
        return Settings(
            log_level=env.log_level(),
            jobstore=jobstore,
            service_token=env.str("SERVICE_TOKEN"),
            job_token_secret=env.str("JOB_TOKEN_SECRET"),
            worker_token_ttl_s=env.float(
                "WORKER_TOKEN_TTL_S", 3600.0, minimum=MIN_WORKER_TOKEN_TTL_S[launcher.kind]
            ),
            jobstore_retry_s=env.float("JOBSTORE_RETRY_S", 60.0, minimum=0),
            nats_url=env.str("NATS_URL"),
            object_store=object_store_settings(env),
            stop_workers_on_exit=env.bool("STOP_WORKERS_ON_EXIT", True),
            launcher=launcher,
            max_workers=max_workers,
            max_workers_per_user=env.int("MAX_WORKERS_PER_USER", max_workers, minimum=1),
        )


def _launcher(env: Env, jobstore: str) -> LocalLauncherSettings | KubernetesLauncherSettings:
    kind = env.str("LAUNCHER", LocalLauncherSettings.kind)
    if kind == LocalLauncherSettings.kind:
        return LocalLauncherSettings(
            state_dir=Path(env.str("STATE_DIR")) / "local",
            stop_grace_s=env.float("STOP_GRACE_S", 10.0, minimum=0),
            registration=registration_limits(env),
            warm_start=env.bool("WARM_START", True),
            worker_env=worker_environment(env.environ, jobstore),
        )
    if kind == KubernetesLauncherSettings.kind:
        return KubernetesLauncherSettings(
            kubeconfig=env.str("KUBECONFIG", "") or None,
            unschedulable_grace_s=env.float("UNSCHEDULABLE_GRACE_S", 120.0, minimum=0),
            manifests=kube_settings(env),
        )
    raise SettingsError(f"{env.key('LAUNCHER')}={kind!r}: use local or kubernetes")


def worker_environment(environ: Mapping[str, str], jobstore: str) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if not k.startswith(PRIVATE_PREFIXES)}
    env["SIMLAB_WORKER_JOBSTORE"] = jobstore
    return env


def registration_limits(env: Env) -> RegistrationLimits:
    return RegistrationLimits(
        cpu_s=env.int("REGISTRATION_CPU_S", DEFAULT_LIMITS.cpu_s, minimum=1),
        memory_mb=env.int(
            "REGISTRATION_MEMORY_MB", DEFAULT_LIMITS.memory_mb, minimum=MIN_REGISTRATION_MEMORY_MB
        ),
    )


def kube_settings(env: Env) -> KubeSettings:
    """What the Kubernetes manifests need, from the runner's SIMLAB_RUNNER_* variables."""
    pull_policy = env.str("IMAGE_PULL_POLICY", "IfNotPresent")
    if pull_policy not in PULL_POLICIES:
        raise SettingsError(
            f"{env.key('IMAGE_PULL_POLICY')} must be one of {', '.join(PULL_POLICIES)}, "
            f"got {pull_policy!r}"
        )
    return KubeSettings(
        namespace=env.str("K8S_NAMESPACE", "simlab-jobs"),
        image=env.str("WORKER_IMAGE"),
        # The job store's address as pods see it (not the runner's loopback).
        jobstore=env.str("WORKER_JOBSTORE"),
        image_pull_policy=pull_policy,
        backoff_limit_per_index=env.int("BACKOFF_LIMIT_PER_INDEX", 2, minimum=0),
        ttl_seconds_after_finished=env.int("TTL_SECONDS_AFTER_FINISHED", 3600, minimum=0),
        requests=Resources(
            _quantity(env, "CPU_REQUEST", "500m"), _quantity(env, "MEMORY_REQUEST", "512Mi")
        ),
        limits=Resources(_quantity(env, "CPU_LIMIT", "1"), _quantity(env, "MEMORY_LIMIT", "1Gi")),
        registration=registration_limits(env),
    )


def _quantity(env: Env, name: str, default: str) -> str:
    value = env.str(name, default)
    if not QUANTITY.fullmatch(value):
        raise SettingsError(
            f"{env.key(name)} must be a Kubernetes quantity (500m, 1, 512Mi, ...), got {value!r}"
        )
    return value
