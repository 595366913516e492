"""The Helm chart on a real cluster: what the platform team does, in order.

install (locally built images, bundled PostgreSQL/NATS/MinIO) -> every Deployment and
StatefulSet ready -> `helm test` -> a simulation submitted through the installed gateway
SUCCEEDS -> `kill -9` of the job store, then a restart of PostgreSQL, each under a running
simulation that still SUCCEEDS -> `helm upgrade` with a changed value rolls the gateway,
jobstore and runner pods while a simulation runs, and that simulation still SUCCEEDS with every
sample -> `helm uninstall` leaves nothing but the database volume it was told to keep and the
generated Secrets (kept, so that a reinstall matches that volume).

The local cluster has no storage provisioner: the test makes one hostPath PersistentVolume per
claim in its temp dir (what kind's and minikube's default StorageClasses do by themselves).
The install-to-ready time, the `helm test` output, each upgrade's timings and, for every fault,
the job-store statuses the workers retried are written to test-output/helm/; so is everything
a failed run leaves (its stored worker logs, the service pods' logs), before the release goes.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simlab.client import Client
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.timeout(1800)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "simlab"
HELM = ROOT / ".tools" / "bin" / "helm"
OUTPUT = ROOT / "test-output" / "helm"
RELEASE = "simlab"
# The three claims of the bundled dependencies, each bound to a volume made here.
CLAIMS = ("postgresql", "nats", "minio")
# The Secrets the chart generates, `<release>-<name>`, which `helm uninstall` leaves.
KEPT_SECRETS = ("platform", "gateway-tokens", "gateway-session", "postgresql", "minio", "nats")


@dataclass
class Release:
    kube: Any
    namespace: str
    sim_namespace: str
    storage_class: str
    set_args: list[str]
    install_seconds: float
    uninstalled: bool = False

    @property
    def full(self) -> str:
        return RELEASE  # the release name contains the chart name: no suffix

    def helm(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return helm(self.kube, *args, "--namespace", self.namespace, timeout=timeout)

    def token(self) -> str:
        secret = self.kube.get("secret", f"{self.full}-gateway-tokens", self.namespace)
        return base64.b64decode(secret["data"]["admin"]).decode()

    def pods(self, component: str) -> list[dict[str, Any]]:
        out = self.kube.kubectl(
            "get",
            "pods",
            "-n",
            self.namespace,
            "-l",
            f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}",
            "-o",
            "json",
        ).stdout
        return [p for p in json.loads(out)["items"] if not p["metadata"].get("deletionTimestamp")]

    @contextmanager
    def gateway(self) -> Iterator[Client]:
        """A client through `kubectl port-forward` to the gateway Service, as NOTES.txt says."""
        target = f"service/{self.full}-gateway"
        with port_forward(self.kube, self.namespace, target, 8080) as port:
            client = Client(server=f"http://127.0.0.1:{port}", token=self.token())
            try:
                yield client
            finally:
                client.close()


def helm(
    kube: Any, *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(kube.kubeconfig))
    p = subprocess.run(
        [str(HELM), *args], text=True, capture_output=True, env=env, timeout=timeout, cwd=ROOT
    )
    if check and p.returncode != 0:
        raise AssertionError(
            f"helm {' '.join(args)} failed ({p.returncode}):\n{p.stderr}{p.stdout}"
        )
    return p


@contextmanager
def port_forward(kube: Any, namespace: str, target: str, port: int) -> Iterator[int]:
    cmd = [
        str(ROOT / ".tools" / "k8s" / "bin" / "kubectl"),
        f"--kubeconfig={kube.kubeconfig}",
        "port-forward",
        "-n",
        namespace,
        "--address=127.0.0.1",
        target,
        f":{port}",
    ]
    with subprocess.Popen(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as p:
        try:
            assert p.stdout is not None
            line = p.stdout.readline()
            m = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
            assert m, f"kubectl port-forward said: {line}{p.stdout.read() if p.poll() else ''}"
            yield int(m.group(1))
        finally:
            p.terminate()
            p.wait(10)


def make_volumes(kube: Any, storage_class: str, namespace: str, base: Path) -> None:
    """One hostPath volume per claim, bound in advance to it and writable by the chart's
    non-root users (as kind's local-path provisioner makes them)."""
    for claim in CLAIMS:
        path = base / claim
        path.mkdir(parents=True)
        path.chmod(0o777)
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": f"{storage_class}-{claim}",
                "labels": {"simlab-test": storage_class},
            },
            "spec": {
                "storageClassName": storage_class,
                "capacity": {"storage": "50Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "claimRef": {"namespace": namespace, "name": f"data-{RELEASE}-{claim}-0"},
                "hostPath": {"path": str(path), "type": "Directory"},
            },
        }
        kube.kubectl("create", "-f", "-", input=json.dumps(pv))


def namespaced_objects(kube: Any, namespace: str) -> list[str]:
    """Every object in the namespace, of every listable kind, except what Kubernetes itself
    puts in each namespace."""
    kinds = kube.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").stdout
    wanted = [k for k in kinds.split() if not k.startswith("events")]
    out = kube.kubectl(
        "get", ",".join(wanted), "-n", namespace, "-o", "name", "--ignore-not-found"
    ).stdout.split()
    defaults = {"serviceaccount/default", "configmap/kube-root-ca.crt"}
    return sorted(o for o in out if o not in defaults)


@pytest.fixture(scope="module")
def release(kube: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    suffix = secrets.token_hex(3)
    namespace = f"simlab-helm-{suffix}"
    sim_namespace = f"simlab-helm-jobs-{suffix}"
    storage_class = f"simlab-helm-{suffix}"
    volumes = tmp_path_factory.mktemp("helm-volumes")
    make_volumes(kube, storage_class, namespace, volumes)
    kube.kubectl("create", "namespace", namespace)
    # The images `make images` built, by their content tags (":dev" would do as well).
    values = []
    for key, name in (
        ("image", "service"),
        ("simulations.worker", "worker"),
        ("postgresql.image", "postgresql"),
        ("nats.image", "nats"),
        ("minio.image", "minio"),
    ):
        repository, tag = kube.images[name].rsplit(":", 1)
        values += [f"{key}.repository={repository}", f"{key}.tag={tag}"]
    values += [
        f"simulations.namespace={sim_namespace}",
        # Small requests: the test machine has two cores for everything.
        "simulations.resources.requests.cpu=100m",
        "simulations.resources.requests.memory=256Mi",
    ]
    for component in (*CLAIMS, "gateway", "jobstore", "runner"):
        values.append(f"{component}.resources.requests.cpu=50m")
    for claim in CLAIMS:
        values.append(f"{claim}.persistence.storageClass={storage_class}")
    set_args = [a for v in values for a in ("--set", v)]
    rel = Release(kube, namespace, sim_namespace, storage_class, set_args, 0.0)
    try:
        started = time.monotonic()
        rel.helm("install", RELEASE, str(CHART), *set_args, "--wait", "--timeout", "10m")
        rel.install_seconds = time.monotonic() - started
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / "retried.txt").unlink(missing_ok=True)
        (OUTPUT / "install-to-ready.txt").write_text(
            f"helm install --wait, to every Deployment and StatefulSet ready: "
            f"{rel.install_seconds:.1f} s\n"
        )
        yield rel
    finally:
        if not rel.uninstalled:
            helm(kube, "uninstall", RELEASE, "--namespace", namespace, "--wait", check=False)
        for ns in (namespace, sim_namespace):
            with contextlib.suppress(subprocess.TimeoutExpired):
                kube.kubectl(
                    "delete",
                    "namespace",
                    ns,
                    "--ignore-not-found",
                    "--wait=true",
                    check=False,
                    timeout=180,
                )
        kube.kubectl(
            "delete", "pv", "-l", f"simlab-test={storage_class}", "--wait=true", check=False
        )
        shutil.rmtree(volumes, ignore_errors=True)


def test_every_ci_rendering_passes_the_api_servers_dry_run(kube: Any) -> None:
    """`make helm-validate`: each ci/*-values.yaml rendered and sent through the API server's
    admission (schema, Pod Security, RBAC) with dryRun, nothing persisted."""
    namespace = f"simlab-validate-{secrets.token_hex(3)}"
    env = dict(
        os.environ,
        HELM=str(HELM),
        OUT=str(OUTPUT / "validate"),
        RELEASE=RELEASE,
        NAMESPACE=namespace,
        KUBECONFIG=str(kube.kubeconfig),
    )
    try:
        p = subprocess.run(
            [str(ROOT / "deploy" / "helm" / "helm.sh"), "validate"],
            text=True,
            capture_output=True,
            env=env,
            timeout=600,
            cwd=ROOT,
        )
        assert p.returncode == 0, p.stdout + p.stderr
        assert "helm-validate: OK" in p.stdout
        accepted = re.findall(r"(\d+) objects accepted", p.stdout)
        assert len(accepted) == len(list((CHART / "ci").glob("*-values.yaml"))), p.stdout
        assert all(int(n) > 10 for n in accepted), p.stdout
    finally:
        kube.kubectl(
            "delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False
        )


def test_install_is_ready_and_helm_test_passes(release: Release) -> None:
    for component in ("gateway", "jobstore", "runner", *CLAIMS):
        pods = release.pods(component)
        assert len(pods) == 1, (component, [p["metadata"]["name"] for p in pods])
        ready = {c["type"]: c["status"] for c in pods[0]["status"]["conditions"]}
        assert ready["Ready"] == "True", (component, pods[0]["status"])
        # Whatever order they came up in, none crashed waiting for another.
        restarts = [c["restartCount"] for c in pods[0]["status"]["containerStatuses"]]
        assert restarts == [0], (component, pods[0]["status"]["containerStatuses"])
    p = release.helm("test", RELEASE, "--logs", "--timeout", "10m")
    (OUTPUT / "helm-test.txt").write_text(p.stdout)
    assert re.search(r"TEST SUITE:\s+simlab-test-simulation", p.stdout), p.stdout
    assert re.search(r"Phase:\s+Succeeded", p.stdout), p.stdout
    assert "SUCCEEDED" in p.stdout, p.stdout


def test_the_installed_release_is_least_privilege(release: Release) -> None:
    """Item 10 and the chart side of 4 and 7, on the installed release: the runner's account
    may write Secrets in the simulation namespace but read none; the job store connects to
    PostgreSQL as a plain role; NetworkPolicies, a ResourceQuota and a LimitRange are there
    by default; the generated Secrets are kept on uninstall."""
    kube, ns, sim_ns = release.kube, release.namespace, release.sim_namespace
    runner = f"system:serviceaccount:{ns}:{release.full}-runner"
    for verb, allowed in (
        ("get", "no"),
        ("list", "no"),
        ("watch", "no"),
        ("create", "yes"),
        ("patch", "yes"),
        ("delete", "yes"),
    ):
        out = kube.kubectl(
            "auth", "can-i", verb, "secrets", "-n", sim_ns, f"--as={runner}", check=False
        )
        assert out.stdout.strip() == allowed, (verb, out.stdout, out.stderr)
    [pg] = release.pods("postgresql")
    query = (
        "select r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole from pg_stat_activity a"
        " join pg_roles r on r.rolname = a.usename where a.client_addr is not null"
        " group by 1, 2, 3, 4"
    )
    out = kube.kubectl(
        "exec",
        "-n",
        ns,
        pg["metadata"]["name"],
        "--",
        "psql",
        "-h",
        "/tmp",
        "-U",
        "postgres",
        "-d",
        "simlab",
        "-Atc",
        query,
    )
    # Everyone on TCP (the job store's pool) is the job store's user, and it is no superuser.
    assert out.stdout.split() == ["simlab|f|f|f"], out.stdout

    def names(kind: str, namespace: str) -> list[str]:
        out = kube.kubectl("get", kind, "-n", namespace, "-o", "jsonpath={.items[*].metadata.name}")
        return sorted(out.stdout.split())

    assert f"{release.full}-default-deny" in names("networkpolicies", ns)
    assert f"{release.full}-simulations" in names("networkpolicies", sim_ns)
    for kind in ("resourcequotas", "limitranges"):
        assert names(kind, sim_ns) == [f"{release.full}-simulations"], kind
    for name in KEPT_SECRETS:
        secret = kube.get("secret", f"{release.full}-{name}", ns)
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", name


def test_a_simulation_through_the_installed_gateway_succeeds(release: Release) -> None:
    with release.gateway() as sim:
        assert {"pi", "european_option"} <= {m.name for m in sim.models()}
        job = sim.submit("pi", {"samples": 20_000_000}, shards=2, seed=7)
        done = sim.wait(job.job_id, progress=False)
        assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
        summary = sim.summary(job.job_id)
        assert summary["samples"] == 20_000_000
        assert abs(summary["estimate"] - math.pi) < 4 * summary["stderr"], summary
        names = {a.name for a in sim.artifacts(job.job_id)}
        assert {"summary.json", "data.csv", "plot.png"} <= names, names
        assert sim.read(job.job_id, "plot.png").startswith(b"\x89PNG")
    # It ran as a Kubernetes Job in the simulation namespace.
    jobs = json.loads(
        release.kube.kubectl("get", "jobs", "-n", release.sim_namespace, "-o", "json").stdout
    )["items"]
    assert job.job_id in [j["metadata"]["labels"].get("simlab.io/job-id") for j in jobs]


def save_evidence(release: Release, sim: Client, job: pb.Job, label: str) -> Path:
    """What a failed run leaves to look at, before the release goes: the job as the platform
    has it, the workers' logs as stored when their pods ended (the runner deletes a failed
    Job, and its pods with it), whatever of its pods is left, and the service pods' logs
    (the previous container's too). Returns the folder."""
    folder = OUTPUT / f"{label}-{job.job_id}"
    folder.mkdir(parents=True, exist_ok=True)
    kube = release.kube
    (folder / "job.txt").write_text(str(job))
    try:
        for shard, data in stored_logs(sim, job.job_id).items():
            (folder / f"worker-{shard}.log").write_bytes(data)
    except Exception as error:  # the evidence must not hide the failure
        (folder / "stored-logs-error.txt").write_text(repr(error))
    selector = f"simlab.io/job-id={job.job_id}"
    sim_ns = release.sim_namespace
    for kind in ("pods", "jobs"):
        out = kube.kubectl("get", kind, "-n", sim_ns, "-l", selector, "-o", "yaml", check=False)
        (folder / f"{kind}.yaml").write_text(out.stdout + out.stderr)
    for component in ("gateway", "jobstore", "runner", "postgresql"):
        pods = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}"
        for previous in (False, True):
            out = kube.kubectl(
                "logs",
                "-n",
                release.namespace,
                "-l",
                pods,
                "--prefix",
                "--tail=-1",
                f"--previous={str(previous).lower()}",
                check=False,
            )
            name = f"{component}{'-previous' if previous else ''}.log"
            (folder / name).write_text(out.stdout + out.stderr)
    return folder


def stored_logs(sim: Client, job_id: str) -> dict[int, bytes]:
    """Each shard's output, as the runner stored it when the shard's pod ended."""
    shards: dict[int, bytes] = collections.defaultdict(bytes)
    for chunk in sim.logs(job_id):
        shards[chunk.shard] += chunk.data
    return shards


def retried_statuses(sim: Client, job: pb.Job) -> collections.Counter[str]:
    """The job-store statuses the job's workers retried, from their logs as stored when their
    pods ended (which can come a little after the job did)."""
    deadline = time.monotonic() + 60
    while len(logs := stored_logs(sim, job.job_id)) < job.shards and time.monotonic() < deadline:
        time.sleep(2)
    seen: collections.Counter[str] = collections.Counter()
    for data in logs.values():
        for line in data.decode(errors="replace").splitlines():
            if "job store call failed, retrying" in line:
                seen[json.loads(line).get("code", "?")] += 1
    return seen


def submit_and_wait_for_blocks(sim: Client, samples: int, seed: int, blocks: int = 2) -> pb.Job:
    job = sim.submit("pi", {"samples": samples}, shards=2, seed=seed)
    for event in sim.watch(job.job_id):
        if event.job.progress.blocks_done >= blocks:
            break
    return job


def check_succeeded(release: Release, sim: Client, job: pb.Job, samples: int, label: str) -> pb.Job:
    done = sim.wait(job.job_id, progress=False)
    if done.state != pb.JOB_STATE_SUCCEEDED:
        folder = save_evidence(release, sim, done, label)
        raise AssertionError(f"{pb.JobState.Name(done.state)}: {done.error.message} (see {folder})")
    assert done.progress.samples_done == samples
    assert done.summary["samples"] == samples
    # What the fault looked like from the workers (each retried status would have failed the
    # run before issue #16, all but UNAVAILABLE and DEADLINE_EXCEEDED).
    with (OUTPUT / "retried.txt").open("a") as out:
        out.write(f"{label}: {dict(retried_statuses(sim, done)) or 'nothing'}\n")
    return done


def container_pids(pod: dict[str, Any], command: str) -> list[int]:
    """This machine's pids of the pod's processes whose command line holds `command` (the
    cluster's containers are processes here, in the pod's cgroup)."""
    uid = pod["metadata"]["uid"]
    marks = (uid, uid.replace("-", "_"))
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cgroup = (proc / "cgroup").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if any(mark in cgroup for mark in marks) and command in cmdline:
            pids.append(int(proc.name))
    return pids


def restarts(pod: dict[str, Any]) -> int:
    return sum(c["restartCount"] for c in pod["status"]["containerStatuses"])


def test_kill_9_of_the_job_store_loses_no_running_simulation(release: Release) -> None:
    samples = 4_000_000_000
    [pod] = release.pods("jobstore")
    with release.gateway() as sim:
        job = submit_and_wait_for_blocks(sim, samples, seed=21)
        pids = container_pids(pod, "simlab_jobstore")
        assert pids, f"no job-store process found in pod {pod['metadata']['name']}"
        for pid in pids:
            os.kill(pid, 9)
        deadline = time.monotonic() + 60
        while restarts(release.pods("jobstore")[0]) == restarts(pod):
            assert time.monotonic() < deadline, "the killed job store was not restarted"
            time.sleep(1)
        check_succeeded(release, sim, job, samples, "jobstore-kill-9")


def test_a_restart_of_postgresql_loses_no_running_simulation(release: Release) -> None:
    samples = 10_000_000_000
    [pod] = release.pods("postgresql")
    with release.gateway() as sim:
        job = submit_and_wait_for_blocks(sim, samples, seed=31)
        release.kube.kubectl("delete", "pod", "-n", release.namespace, pod["metadata"]["name"])
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(1)
            pods = release.pods("postgresql")
            if pods and pods[0]["metadata"]["uid"] != pod["metadata"]["uid"] and ready(pods[0]):
                break
        # PostgreSQL is back and the job has not ended: the restart happened under it.
        assert next(sim.watch(job.job_id)).job.state == pb.JOB_STATE_RUNNING
        check_succeeded(release, sim, job, samples, "postgresql-restart")


def test_a_nats_outage_takes_gateways_out_of_service_but_restarts_none(
    release: Release,
) -> None:
    """Item 10: readiness follows NATS, liveness does not. With NATS away for longer than the
    liveness probe tolerates (6 x 10 s), the gateway turns not-ready and is not restarted; it
    is ready again once NATS is back."""
    [gateway] = release.pods("gateway")
    nats = f"statefulset/{release.full}-nats"
    release.kube.kubectl("scale", "-n", release.namespace, nats, "--replicas=0")
    try:
        deadline = time.monotonic() + 120
        while ready(release.pods("gateway")[0]):
            assert time.monotonic() < deadline, "the gateway stayed ready without NATS"
            time.sleep(2)
        time.sleep(90)  # beyond failureThreshold x periodSeconds of the liveness probe
        [still] = release.pods("gateway")
        assert still["metadata"]["uid"] == gateway["metadata"]["uid"]
        assert restarts(still) == restarts(gateway), still["status"]["containerStatuses"]
        assert not ready(still)
    finally:
        release.kube.kubectl("scale", "-n", release.namespace, nats, "--replicas=1")
    deadline = time.monotonic() + 180
    while not ready(release.pods("gateway")[0]):
        assert time.monotonic() < deadline, "the gateway did not come back after NATS"
        time.sleep(2)
    assert restarts(release.pods("gateway")[0]) == restarts(gateway)


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# `SIMLAB_UPGRADE_ROUNDS=20 pytest tests/k8s/test_helm.py` upgrades the one release 20 times,
# each time under a new running simulation (the soak that issue #16 asks for).
ROUNDS = int(os.environ.get("SIMLAB_UPGRADE_ROUNDS", "1"))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_upgrade_rolls_the_pods_without_losing_a_running_simulation(
    release: Release, round_: int
) -> None:
    # Long enough to outlast the rollout with room to spare on a loaded 2-core machine.
    samples = 10_000_000_000
    before = {c: release.pods(c)[0]["metadata"]["uid"] for c in ("gateway", "jobstore", "runner")}
    started = time.monotonic()
    with release.gateway() as sim:
        job = submit_and_wait_for_blocks(sim, samples, seed=11 + round_)
    # A changed value rolls every service pod; the rounds alternate it.
    log_level = "DEBUG" if round_ % 2 == 0 else "INFO"
    release.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        *release.set_args,
        "--set",
        f"gateway.logLevel={log_level}",
        "--wait",
        "--timeout",
        "10m",
    )
    rolled_out = time.monotonic() - started
    after = {c: [p["metadata"]["uid"] for p in release.pods(c)] for c in before}
    for component, uid in before.items():
        assert after[component] and uid not in after[component], (component, after)
    with release.gateway() as sim:
        # The rollout is over: the job must not have ended before it (else nothing is proven).
        mid = sim.get(job.job_id)
        done = check_succeeded(release, sim, job, samples, f"upgrade-{round_}")
    ended = (done.updated_at.ToNanoseconds() - done.created_at.ToNanoseconds()) / 1e9
    with (OUTPUT / "upgrade.txt").open("w" if round_ == 0 else "a") as out:
        out.write(
            f"round {round_}: upgrade rolled out {rolled_out:.1f} s after the submit; "
            f"the run ended after {ended:.1f} s\n"
        )
    assert mid.state == pb.JOB_STATE_RUNNING, (mid.state, mid.progress, rolled_out, ended)


def test_uninstall_leaves_only_the_database_volume_and_its_secrets(release: Release) -> None:
    kube = release.kube
    release.helm("uninstall", RELEASE, "--wait", "--timeout", "5m")
    release.uninstalled = True
    pvc = f"data-{release.full}-postgresql-0"
    # The generated Secrets stay (helm.sh/resource-policy: keep): a reinstall reads them back,
    # and the kept database volume still matches its password.
    kept = sorted(
        [f"persistentvolumeclaim/{pvc}"] + [f"secret/{release.full}-{s}" for s in KEPT_SECRETS]
    )
    deadline = time.monotonic() + 120
    while True:
        left = namespaced_objects(kube, release.namespace)
        if left == kept or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert left == kept, left
    # Its volume is still bound to it, with the database in it.
    volume = kube.get("pv", f"{release.storage_class}-postgresql")
    assert volume["status"]["phase"] == "Bound", volume["status"]
    assert volume["spec"]["claimRef"]["name"] == pvc
    assert (Path(volume["spec"]["hostPath"]["path"]) / "pgdata" / "PG_VERSION").is_file()
    # Nothing cluster-wide of the release stays (RBAC, the simulation namespace).
    for kind in ("clusterroles", "clusterrolebindings", "namespaces"):
        out = kube.kubectl("get", kind, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "name")
        assert out.stdout.strip() == "", out.stdout
    sim = kube.kubectl(
        "get", "namespace", release.sim_namespace, "--ignore-not-found", "-o", "json"
    )
    if sim.stdout.strip():  # still terminating
        assert json.loads(sim.stdout)["status"]["phase"] == "Terminating"
