"""Services and cluster DNS as on any cluster: kube-proxy and CoreDNS on the host, and the
kube-dns Service (DNS_SERVICE_IP:53, what the kubelet writes into pods' resolv.conf) whose only
endpoint is CoreDNS."""

from __future__ import annotations

import os
import socket
import urllib.request
from typing import Any

from .commands import coredns_args, kube_proxy_args
from .configs import corefile, json_text, kube_proxy_config
from .constants import (
    CLUSTER_DOMAIN,
    COREDNS_USER,
    DNS_SERVICE_IP,
    HOST_ADDRESS,
    KUBERNETES_SERVICE_IP,
)
from .host import ClusterError
from .layout import Ports
from .pki import write_kubeconfig
from .state import Cluster


def dns_objects(dns_port: int) -> list[tuple[str, dict[str, Any]]]:
    """(API collection, object) for CoreDNS's read access and the kube-dns Service with its
    one endpoint, CoreDNS on the host at DNS_PORT."""
    return [
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": COREDNS_USER},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["endpoints", "services", "pods", "namespaces"],
                        "verbs": ["list", "watch"],
                    },
                    {
                        "apiGroups": ["discovery.k8s.io"],
                        "resources": ["endpointslices"],
                        "verbs": ["list", "watch"],
                    },
                ],
            },
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": COREDNS_USER},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": COREDNS_USER,
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": COREDNS_USER}
                ],
            },
        ),
        (
            "/api/v1/namespaces/kube-system/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns"}},
                "spec": {
                    "clusterIP": DNS_SERVICE_IP,
                    "ports": [
                        {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": dns_port},
                        {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": dns_port},
                    ],
                },
            },
        ),
        (
            "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": "kube-dns-host",
                    "labels": {
                        "kubernetes.io/service-name": "kube-dns",
                        "endpointslice.kubernetes.io/managed-by": "simlab-cluster-py",
                    },
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": [HOST_ADDRESS], "conditions": {"ready": True}}],
                "ports": [
                    {"name": "dns", "protocol": "UDP", "port": dns_port},
                    {"name": "dns-tcp", "protocol": "TCP", "port": dns_port},
                ],
            },
        ),
    ]


def apply_dns_objects(c: Cluster, dns_port: int) -> None:
    for path, obj in dns_objects(dns_port):
        code, body = c.api("POST", path, obj)
        if code not in (200, 201):
            what = f"{obj['kind']} {obj['metadata']['name']}"
            raise ClusterError(f"creating {what} failed: {code} {body}")


def start_service_network(c: Cluster, ports: Ports) -> None:
    """kube-proxy and CoreDNS on the host, and the kube-dns Service in front of CoreDNS."""
    paths = c.paths
    for name in ("kube-proxy", "coredns"):
        write_kubeconfig(paths.component_kubeconfig(name), paths.pki, name, ports.apiserver)
    apply_dns_objects(c, ports.dns)
    paths.kube_proxy_config.write_text(json_text(kube_proxy_config(paths, ports)))
    c.procs.start("kube-proxy", kube_proxy_args(paths))
    paths.corefile.write_text(corefile(paths, ports))
    c.procs.start("coredns", coredns_args(paths))

    def proxy_synced() -> bool:
        url = f"http://127.0.0.1:{ports.kube_proxy_healthz}/healthz"
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200

    def dns_answers() -> bool:
        name = f"kubernetes.default.svc.{CLUSTER_DOMAIN}"
        got = dns_query_a((HOST_ADDRESS, ports.dns), name)
        if got != [KUBERNETES_SERVICE_IP]:
            raise ClusterError(f"{name} resolved to {got}, not [{KUBERNETES_SERVICE_IP}]")
        return True

    c.procs.wait("kube-proxy to program the Services", "kube-proxy", proxy_synced, 60)
    c.procs.wait("CoreDNS to answer", "coredns", dns_answers, 60)


# ---- a minimal DNS client (standard library only) ----------------------------------------


def question(name: str) -> bytes:
    """NAME in DNS wire format."""
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def a_query(qid: int, name: str) -> bytes:
    """A recursive-desired query for the A records of NAME."""
    header = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    return header + question(name) + b"\x00\x01\x00\x01"  # type A, class IN


def a_records(reply: bytes, qid: int, name: str) -> list[str]:
    """The addresses in the answer to a_query(QID, NAME)."""
    if int.from_bytes(reply[:2], "big") != qid:
        raise ClusterError("DNS reply to another query")
    rcode = reply[3] & 0x0F
    if rcode != 0:
        raise ClusterError(f"DNS rcode {rcode} for {name}")
    answers = int.from_bytes(reply[6:8], "big")
    pos = 12 + len(question(name)) + 4
    found = []
    for _ in range(answers):
        # Names in answers are compressed pointers (2 bytes) in CoreDNS's replies.
        pos += 2 if reply[pos] & 0xC0 == 0xC0 else reply.index(b"\0", pos) + 1 - pos
        rtype = int.from_bytes(reply[pos : pos + 2], "big")
        rdlen = int.from_bytes(reply[pos + 8 : pos + 10], "big")
        rdata = reply[pos + 10 : pos + 10 + rdlen]
        if rtype == 1 and rdlen == 4:
            found.append(".".join(str(b) for b in rdata))
        pos += 10 + rdlen
    return found


def dns_query_a(server: tuple[str, int], name: str, timeout: float = 2) -> list[str]:
    """The A records of NAME as SERVER answers them over UDP."""
    qid = int.from_bytes(os.urandom(2), "big")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(a_query(qid, name), server)
        reply = s.recv(4096)
    return a_records(reply, qid, name)
