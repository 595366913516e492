"""The plain data the components' command lines and config files are made from: the paths of
one state dir and the ports picked at `up` (recorded in cluster.json)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .constants import (
    DNS_SERVICE_IP,
    HOST_ADDRESS,
    NAMESPACE,
    NODE_NAME,
    POD_SUBNET,
    SERVICE_SUBNET,
)


@dataclass(frozen=True)
class Paths:
    """Where one cluster keeps everything: <state>/k8s."""

    state: Path

    @property
    def dir(self) -> Path:
        return self.state / "k8s"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def pids(self) -> Path:
        return self.dir / "pids"

    @property
    def info_file(self) -> Path:
        return self.dir / "cluster.json"

    @property
    def kubeconfig(self) -> Path:
        """The admin's."""
        return self.dir / "admin.kubeconfig"

    def component_kubeconfig(self, component: str) -> Path:
        return self.dir / f"{component}.kubeconfig"

    @property
    def etcd_data(self) -> Path:
        return self.dir / "etcd"

    @property
    def ctr_dir(self) -> Path:
        return self.dir / "containerd"

    @property
    def ctr_sock(self) -> Path:
        return self.ctr_dir / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.ctr_dir / "config.toml"

    @property
    def kubelet_dir(self) -> Path:
        return self.dir / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.kubelet_dir / "config.json"

    @property
    def pod_logs(self) -> Path:
        return self.dir / "pod-logs"

    @property
    def cni_dir(self) -> Path:
        return self.dir / "cni"

    @property
    def cni_conflist(self) -> Path:
        return self.cni_dir / "net.d" / "10-simlab.conflist"

    @property
    def kube_proxy_config(self) -> Path:
        return self.dir / "kube-proxy.json"

    @property
    def corefile(self) -> Path:
        return self.dir / "Corefile"


@dataclass(frozen=True)
class Ports:
    """The ports of one cluster (free ones picked at each `up`); in cluster.json as
    <field>_port."""

    etcd: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kubelet: int
    kubelet_healthz: int
    kube_proxy_healthz: int
    kube_proxy_metrics: int
    dns: int

    @classmethod
    def count(cls) -> int:
        return len(fields(cls))

    def as_info(self) -> dict[str, int]:
        return {f"{f.name}_port": getattr(self, f.name) for f in fields(self)}

    @property
    def etcd_url(self) -> str:
        return f"https://127.0.0.1:{self.etcd}"

    @property
    def etcd_peer_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_peer}"


def cluster_info(
    paths: Paths, ports: Ports, version: str, sysctls: dict[str, str | None]
) -> dict[str, Any]:
    """What cluster.json says about a cluster (clients read it: tests/k8s, `status`)."""
    return {
        "version": version,
        "state_dir": str(paths.state),
        "kubeconfig": str(paths.kubeconfig),
        "node": NODE_NAME,
        "namespace": NAMESPACE,
        "host_address": HOST_ADDRESS,
        "pod_subnet": POD_SUBNET,
        "service_subnet": SERVICE_SUBNET,
        "containerd_socket": str(paths.ctr_sock),
        **ports.as_info(),
        "dns_service_ip": DNS_SERVICE_IP,
        "sysctls": sysctls,
    }
