"""The components' config files, from a made-up state dir and ports."""

from __future__ import annotations

import base64
import ipaddress
import json
import tomllib
from pathlib import Path

from localcluster import configs
from localcluster.constants import (
    BRIDGE,
    DNS_SERVICE_IP,
    HOST_ADDRESS,
    KUBERNETES_SERVICE_IP,
    NAMESPACE,
    POD_SUBNET,
    SANDBOX_IMAGE,
    SERVICE_SUBNET,
)
from localcluster.layout import Paths, Ports

PATHS = Paths(Path("/state"))
PORTS = Ports(*range(2001, 2001 + Ports.count()))


def test_addresses_are_in_their_ranges() -> None:
    pods, services = ipaddress.ip_network(POD_SUBNET), ipaddress.ip_network(SERVICE_SUBNET)
    assert ipaddress.ip_address(HOST_ADDRESS) in pods
    assert ipaddress.ip_address(DNS_SERVICE_IP) in services
    assert ipaddress.ip_address(KUBERNETES_SERVICE_IP) == services.network_address + 1


def test_containerd_has_its_own_socket_runc_and_the_cni_config() -> None:
    cfg = tomllib.loads(configs.containerd_config(PATHS, runc="/usr/sbin/runc"))
    assert cfg["grpc"]["address"] == str(PATHS.ctr_sock)
    assert cfg["root"] == "/state/k8s/containerd/root"
    assert cfg["state"] == "/state/k8s/containerd/state"
    cri = cfg["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == SANDBOX_IMAGE
    assert cri["restrict_oom_score_adj"] is True
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc["BinaryName"] == "/usr/sbin/runc"
    assert runc["SystemdCgroup"] is False
    assert cri["cni"]["conf_dir"] == str(PATHS.cni_conflist.parent)


def test_cni_bridge_gives_pods_the_host_and_the_services_only() -> None:
    (plugin,) = configs.cni_conflist(PATHS)["plugins"]
    assert plugin["bridge"] == BRIDGE
    assert plugin["isDefaultGateway"] is False
    assert plugin["ipMasq"] is False
    ipam = plugin["ipam"]
    assert ipam["ranges"] == [[{"subnet": POD_SUBNET, "gateway": HOST_ADDRESS}]]
    assert ipam["routes"] == [{"dst": SERVICE_SUBNET}]
    assert ipam["dataDir"] == "/state/k8s/cni/ipam"


def test_kubelet_serves_on_the_bridge_and_uses_our_containerd_and_dns() -> None:
    cfg = configs.kubelet_config(PATHS, PORTS)
    assert (cfg["address"], cfg["port"]) == (HOST_ADDRESS, PORTS.kubelet)
    assert (cfg["healthzBindAddress"], cfg["healthzPort"]) == ("127.0.0.1", PORTS.kubelet_healthz)
    sock = f"unix://{PATHS.ctr_sock}"
    assert cfg["containerRuntimeEndpoint"] == cfg["imageServiceEndpoint"] == sock
    assert cfg["clusterDNS"] == [DNS_SERVICE_IP]
    assert cfg["tlsCertFile"] == "/state/k8s/pki/kubelet.crt"
    assert cfg["authentication"]["anonymous"] == {"enabled": False}
    assert cfg["makeIPTablesUtilChains"] is False
    assert cfg["imageGCHighThresholdPercent"] == 100


def test_kube_proxy_binds_the_bridge_and_reports_on_loopback() -> None:
    cfg = configs.kube_proxy_config(PATHS, PORTS)
    assert cfg["clientConnection"]["kubeconfig"] == "/state/k8s/kube-proxy.kubeconfig"
    assert cfg["bindAddress"] == HOST_ADDRESS
    assert cfg["healthzBindAddress"] == f"127.0.0.1:{PORTS.kube_proxy_healthz}"
    assert cfg["metricsBindAddress"] == f"127.0.0.1:{PORTS.kube_proxy_metrics}"
    assert cfg["mode"] == "iptables"
    assert cfg["clusterCIDR"] == POD_SUBNET


def test_corefile_serves_the_cluster_domain_on_the_bridge() -> None:
    lines = [ln.strip() for ln in configs.corefile(PATHS, PORTS).splitlines()]
    assert lines[0] == f".:{PORTS.dns} {{"
    assert f"bind {HOST_ADDRESS}" in lines
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa {" in lines
    assert "kubeconfig /state/k8s/coredns.kubeconfig simlab" in lines
    assert not any(ln.startswith("forward") for ln in lines)


def test_kubeconfig_carries_the_certificates() -> None:
    cfg = configs.kubeconfig("https://h:1", "admin", ca=b"CA", cert=b"CERT", key=b"KEY")
    (cluster,) = cfg["clusters"]
    assert cluster["cluster"]["server"] == "https://h:1"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == b"CA"
    (user,) = cfg["users"]
    assert user["name"] == "admin"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == b"CERT"
    assert base64.b64decode(user["user"]["client-key-data"]) == b"KEY"
    assert cfg["contexts"][0]["context"] == {"cluster": "simlab", "user": "admin"}


def test_jobs_namespace_is_restricted() -> None:
    ns = configs.jobs_namespace()
    assert ns["metadata"]["name"] == NAMESPACE
    labels = ns["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


def test_json_text_is_one_json_document_with_a_newline() -> None:
    text = configs.json_text({"a": [1]})
    assert text.endswith("}\n")
    assert json.loads(text) == {"a": [1]}
