"""`up`: the cluster's processes in order, each waited for, until the node is Ready and the
jobs namespace is usable; anything half-started is stopped again when one step fails."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request

from . import commands
from .build import build, pinned_version
from .configs import containerd_config, jobs_namespace, json_text, kubelet_config
from .constants import (
    IMAGES_SH,
    KUBELET_SYSCTLS,
    NAMESPACE,
    NODE_NAME,
    OWNER,
    PROCESSES,
    ROOT,
)
from .dns import start_service_network
from .down import down
from .host import ClusterError, free_ports, log, preflight, read_sysctl, rm_rf
from .layout import Ports, cluster_info
from .network import setup_network
from .pki import make_pki, write_kubeconfig
from .state import Cluster


def up(c: Cluster, timeout: float = 240) -> None:
    t0 = time.monotonic()
    preflight()
    build()
    if c.running():
        log(
            f"already running ({', '.join(c.running())}); "
            "run 'make cluster-down' first to restart it"
        )
        if set(c.running()) != set(PROCESSES):
            raise ClusterError(
                f"a partial cluster is running ({', '.join(c.running())}): run 'make cluster-down'"
            )
        wait_ready(c, timeout)
        summary(c, t0)
        return
    other = c.other_owner()
    if other is not None:
        raise ClusterError(
            f"another Simlab cluster runs on this machine, from {other}: stop it first "
            f"(python3 tools/k8s/cluster.py down --state-dir {other})"
        )
    # Leftovers of a cluster that was not shut down (a crash, a reboot).
    down(c, quiet=True)
    OWNER.parent.mkdir(parents=True, exist_ok=True)
    OWNER.write_text(f"{c.state}\n")
    c.paths.dir.mkdir(parents=True, exist_ok=True)
    # The previous run's logs stay one generation, for a look after a failure.
    logs = c.paths.logs
    if logs.is_dir():
        rm_rf(logs.with_name("logs.previous"))
        logs.rename(logs.with_name("logs.previous"))
    try:
        start(c, t0, timeout)
    except BaseException as exc:
        # Nothing half-started stays behind; the logs do.
        down(c, quiet=True)
        if isinstance(exc, ClusterError):
            raise ClusterError(f"{exc}\n(stopped what had started; logs in {logs})") from None
        raise


def start(c: Cluster, t0: float, timeout: float) -> None:
    ports = Ports(*free_ports(Ports.count()))
    sysctls = {k: read_sysctl(k) for k in KUBELET_SYSCTLS}
    info = cluster_info(c.paths, ports, pinned_version(), sysctls)
    c.paths.info_file.write_text(json_text(info))
    make_pki(c.paths.pki)
    setup_network(c.paths)
    start_etcd_and_containerd(c, ports)
    start_apiserver(c, ports)
    start_controllers(c, ports)
    start_kubelet(c, ports)
    ensure_namespace(c)
    start_service_network(c, ports)
    wait_ready(c, timeout)
    summary(c, t0)


def start_etcd_and_containerd(c: Cluster, ports: Ports) -> None:
    """Started together; etcd waited for (containerd is, before the kubelet starts)."""
    paths, pki = c.paths, c.paths.pki
    c.procs.start("etcd", commands.etcd_args(paths, ports))
    paths.ctr_dir.mkdir(parents=True, exist_ok=True)
    paths.containerd_config.write_text(
        containerd_config(paths, runc=shutil.which("runc") or "/usr/sbin/runc")
    )
    c.procs.start("containerd", commands.containerd_args(paths))

    def etcd_ok() -> bool:
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(
            str(pki / "apiserver-etcd-client.crt"), str(pki / "apiserver-etcd-client.key")
        )
        with urllib.request.urlopen(f"{ports.etcd_url}/health", context=ctx, timeout=2) as r:
            return bool(json.loads(r.read()).get("health") == "true")

    c.procs.wait("etcd to be healthy", "etcd", etcd_ok, 30)


def start_apiserver(c: Cluster, ports: Ports) -> None:
    c.procs.start("kube-apiserver", commands.apiserver_args(c.paths, ports))
    write_kubeconfig(c.paths.kubeconfig, c.paths.pki, "admin", ports.apiserver)

    def api_ready() -> bool:
        code, body = c.api("GET", "/readyz", port=ports.apiserver, timeout=3)
        if code != 200:
            raise ClusterError(f"/readyz {code}: {body}")
        return True

    c.procs.wait("kube-apiserver to be ready", "kube-apiserver", api_ready, 90)


def start_controllers(c: Cluster, ports: Ports) -> None:
    """The controller manager and the scheduler, with the kubelet's kubeconfig (the kubelet
    starts right after them)."""
    paths = c.paths
    for name, cert in (
        ("controller-manager", "controller-manager"),
        ("scheduler", "scheduler"),
        ("kubelet", "kubelet-client"),
    ):
        write_kubeconfig(paths.component_kubeconfig(name), paths.pki, cert, ports.apiserver)
    c.procs.start("kube-controller-manager", commands.controller_manager_args(paths, ports))
    c.procs.start("kube-scheduler", commands.scheduler_args(paths, ports))


def start_kubelet(c: Cluster, ports: Ports) -> None:
    """Once containerd answers and holds the images (the pause image first of all)."""
    paths = c.paths

    def containerd_ok() -> bool:
        return paths.ctr_sock.is_socket() and c.ctr("version", check=False).returncode == 0

    c.procs.wait("containerd to answer on its socket", "containerd", containerd_ok, 30)
    load_images(c)
    paths.kubelet_dir.mkdir(parents=True, exist_ok=True)
    paths.kubelet_config.write_text(json_text(kubelet_config(paths, ports)))
    c.procs.start("kubelet", commands.kubelet_args(paths))


def load_images(c: Cluster) -> None:
    """Builds the pause image if needed and loads every image `make images` built."""
    env = dict(os.environ, STATE_DIR=str(c.state))
    for step in ("pause", "load"):
        p = subprocess.run([str(IMAGES_SH), step], env=env, text=True, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise ClusterError(f"{IMAGES_SH.relative_to(ROOT)} {step} failed:\n{p.stderr[-3000:]}")


def ensure_namespace(c: Cluster) -> None:
    ns = jobs_namespace()
    code, body = c.api("POST", "/api/v1/namespaces", ns)
    if code == 409:
        code, body = c.api("PUT", f"/api/v1/namespaces/{NAMESPACE}", ns)
    if code not in (200, 201):
        raise ClusterError(f"creating namespace {NAMESPACE} failed: {code} {body}")


def wait_ready(c: Cluster, timeout: float) -> None:
    def node_ready() -> bool:
        code, node = c.api("GET", f"/api/v1/nodes/{NODE_NAME}", timeout=3)
        if code != 200:
            raise ClusterError(f"node {NODE_NAME} not registered yet ({code})")
        conds = {cond["type"]: cond for cond in node.get("status", {}).get("conditions", [])}
        ready = conds.get("Ready", {})
        if ready.get("status") != "True":
            raise ClusterError(f"node not Ready: {ready.get('reason')}: {ready.get('message')}")
        return True

    def namespace_usable() -> bool:
        # Pods can be created once the default ServiceAccount exists, and start once the root
        # CA ConfigMap (for the projected token volume) does.
        for path in (
            f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default",
            f"/api/v1/namespaces/{NAMESPACE}/configmaps/kube-root-ca.crt",
        ):
            code, _ = c.api("GET", path, timeout=3)
            if code != 200:
                raise ClusterError(f"{path}: {code}")
        return True

    c.procs.wait(f"node {NODE_NAME} to be Ready", "kubelet", node_ready, timeout)
    c.procs.wait(
        f"namespace {NAMESPACE} to be usable", "kube-controller-manager", namespace_usable, 60
    )


def summary(c: Cluster, t0: float) -> None:
    info = c.info()
    log(
        f"cluster ready in {time.monotonic() - t0:.1f} s: Kubernetes {info['version']}, "
        f"node {NODE_NAME}, namespace {NAMESPACE} (restricted)"
    )
    print(c.env_text())
