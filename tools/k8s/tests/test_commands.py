"""The components' command lines, from a made-up state dir and ports."""

from __future__ import annotations

from pathlib import Path

import pytest
from localcluster import commands
from localcluster.constants import HOST_ADDRESS, NODE_NAME, SERVICE_SUBNET
from localcluster.layout import Paths, Ports, cluster_info
from localcluster.pki import CERTS

PATHS = Paths(Path("/state"))
PORTS = Ports(*range(2001, 2001 + Ports.count()))
# What make_pki leaves in the PKI dir, and the kubeconfigs `up` writes beside cluster.json.
PKI_FILES = {"ca.crt", "ca.key", "sa.key", "sa.pub"} | {
    f"{c.name}.{ext}" for c in CERTS for ext in ("crt", "key")
}
KUBECONFIGS = {"admin", "controller-manager", "scheduler", "kubelet", "kube-proxy", "coredns"}


def flags(args: list[str]) -> dict[str, str]:
    """--name=value arguments as a dict; no flag may be given twice."""
    pairs = [a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a]
    assert len({k for k, _ in pairs}) == len(pairs), f"repeated flags in {args}"
    return dict((k, v) for k, v in pairs)


def pairs(args: list[str]) -> dict[str, str]:
    """--name value arguments (etcd's style) as a dict."""
    out = {}
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        if flag.startswith("--") and not value.startswith("--"):
            out[flag[2:]] = value
    return out


ALL_ARGS = {
    "etcd": commands.etcd_args(PATHS, PORTS),
    "containerd": commands.containerd_args(PATHS),
    "kube-apiserver": commands.apiserver_args(PATHS, PORTS),
    "kube-controller-manager": commands.controller_manager_args(PATHS, PORTS),
    "kube-scheduler": commands.scheduler_args(PATHS, PORTS),
    "kubelet": commands.kubelet_args(PATHS),
    "kube-proxy": commands.kube_proxy_args(PATHS),
    "coredns": commands.coredns_args(PATHS),
}


def test_ports_are_recorded_in_cluster_json_by_their_names() -> None:
    info = cluster_info(PATHS, PORTS, "v1.2.3", {"kernel.panic": "0"})
    assert [k for k in info if k.endswith("_port")] == [
        "etcd_port",
        "etcd_peer_port",
        "apiserver_port",
        "controller_manager_port",
        "scheduler_port",
        "kubelet_port",
        "kubelet_healthz_port",
        "kube_proxy_healthz_port",
        "kube_proxy_metrics_port",
        "dns_port",
    ]
    assert info["apiserver_port"] == PORTS.apiserver == 2003
    assert info["dns_port"] == PORTS.dns == 2010
    assert info["kubeconfig"] == "/state/k8s/admin.kubeconfig"
    assert info["containerd_socket"] == "/state/k8s/containerd/containerd.sock"
    assert info["host_address"] == HOST_ADDRESS
    assert info["sysctls"] == {"kernel.panic": "0"}


def test_etcd_serves_tls_clients_on_its_port() -> None:
    args = pairs(ALL_ARGS["etcd"])
    assert args["listen-client-urls"] == args["advertise-client-urls"] == "https://127.0.0.1:2001"
    assert args["listen-peer-urls"] == "http://127.0.0.1:2002"
    assert args["initial-cluster"] == "simlab=http://127.0.0.1:2002"
    assert args["data-dir"] == "/state/k8s/etcd"
    assert "--client-cert-auth" in ALL_ARGS["etcd"]
    assert args["trusted-ca-file"] == "/state/k8s/pki/ca.crt"


def test_apiserver_listens_on_the_bridge_and_finds_etcd() -> None:
    args = flags(ALL_ARGS["kube-apiserver"])
    assert args["bind-address"] == args["advertise-address"] == HOST_ADDRESS
    assert args["secure-port"] == "2003"
    assert args["etcd-servers"] == "https://127.0.0.1:2001"
    assert args["service-cluster-ip-range"] == SERVICE_SUBNET
    assert args["authorization-mode"] == "Node,RBAC"
    assert "PodSecurity" in args["enable-admission-plugins"].split(",")


@pytest.mark.parametrize(
    ("name", "port"), [("kube-controller-manager", 2004), ("kube-scheduler", 2005)]
)
def test_controllers_bind_loopback_with_their_own_kubeconfig(name: str, port: int) -> None:
    args = flags(ALL_ARGS[name])
    own = str(PATHS.component_kubeconfig(name.removeprefix("kube-")))
    assert args["kubeconfig"] == args["authentication-kubeconfig"] == own
    assert args["authorization-kubeconfig"] == own
    assert args["bind-address"] == "127.0.0.1"
    assert args["secure-port"] == str(port)
    assert args["leader-elect"] == "false"


def test_kubelet_takes_its_config_file_and_the_node_name() -> None:
    args = flags(ALL_ARGS["kubelet"])
    assert args["config"] == str(PATHS.kubelet_config)
    assert args["kubeconfig"] == "/state/k8s/kubelet.kubeconfig"
    assert args["root-dir"] == "/state/k8s/kubelet"
    assert args["hostname-override"] == NODE_NAME
    assert args["node-ip"] == HOST_ADDRESS


def test_config_files_are_where_up_writes_them() -> None:
    assert ALL_ARGS["containerd"][:2] == ["--config", "/state/k8s/containerd/config.toml"]
    assert flags(ALL_ARGS["kube-proxy"])["config"] == "/state/k8s/kube-proxy.json"
    assert ALL_ARGS["coredns"] == ["-conf", "/state/k8s/Corefile"]


def test_every_file_named_is_one_the_cluster_makes() -> None:
    for name, args in ALL_ARGS.items():
        named = [a.split("=", 1)[-1] for a in args if a.startswith("/") or "=/" in a]
        for value in named:
            path = Path(value)
            assert path.is_relative_to("/state/k8s"), (name, value)
            if path.parent == PATHS.pki:
                assert path.name in PKI_FILES, (name, value)
            elif path.suffix == ".kubeconfig":
                assert path.stem in KUBECONFIGS, (name, value)
