"""The cluster's PKI: a small CA and one certificate per component, made with openssl, and the
kubeconfigs that carry them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .configs import kubeconfig
from .constants import COREDNS_USER, HOST_ADDRESS, KUBERNETES_SERVICE_IP, NODE_NAME
from .host import run


@dataclass(frozen=True)
class Cert:
    """A certificate <name>.crt (key <name>.key) signed by the CA."""

    name: str
    subject: str
    server: bool  # also serverAuth, not only clientAuth
    sans: tuple[str, ...] = ()


LOCAL = ("IP:127.0.0.1", "DNS:localhost")
CERTS = [
    Cert("etcd", "/CN=etcd", True, LOCAL),
    Cert("apiserver-etcd-client", "/CN=kube-apiserver-etcd-client", False),
    Cert(
        "apiserver",
        "/CN=kube-apiserver",
        True,
        (
            *LOCAL,
            f"IP:{HOST_ADDRESS}",
            f"IP:{KUBERNETES_SERVICE_IP}",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
        ),
    ),
    Cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", False),
    Cert("admin", "/O=system:masters/CN=simlab-admin", False),
    Cert("front-proxy-client", "/CN=front-proxy-client", False),
    Cert("controller-manager", "/CN=system:kube-controller-manager", False),
    Cert("scheduler", "/CN=system:kube-scheduler", False),
    # The bootstrap RBAC binds system:node-proxier to this user.
    Cert("kube-proxy", "/CN=system:kube-proxy", False),
    Cert("coredns", f"/CN={COREDNS_USER}", False),
    Cert("kubelet-client", f"/O=system:nodes/CN=system:node:{NODE_NAME}", False),
    Cert(
        "kubelet",
        f"/CN={NODE_NAME}",
        True,
        (f"IP:{HOST_ADDRESS}", "IP:127.0.0.1", f"DNS:{NODE_NAME}"),
    ),
]


def ca_commands() -> list[list[str]]:
    """openssl's arguments for the CA's key and self-signed certificate, in the PKI dir."""
    return [
        ["genrsa", "-out", "ca.key", "2048"],
        [
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-key",
            "ca.key",
            "-sha256",
            "-days",
            "3650",
            "-subj",
            "/CN=simlab-k8s-ca",
            "-out",
            "ca.crt",
        ],
    ]


def service_account_key_commands() -> list[list[str]]:
    """openssl's arguments for the key pair that signs service-account tokens."""
    return [
        ["genrsa", "-out", "sa.key", "2048"],
        ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
    ]


def cert_extensions(cert: Cert) -> str:
    """The contents of the extensions file (-extfile) CERT is signed with."""
    ext = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
    ext.append("extendedKeyUsage=" + ("serverAuth,clientAuth" if cert.server else "clientAuth"))
    if cert.sans:
        ext.append("subjectAltName=" + ",".join(cert.sans))
    return "\n".join(ext) + "\n"


def cert_commands(cert: Cert) -> list[list[str]]:
    """openssl's arguments for CERT's key, request and certificate (extensions in
    <name>.ext), in the PKI dir."""
    name = cert.name
    return [
        ["genrsa", "-out", f"{name}.key", "2048"],
        ["req", "-new", "-key", f"{name}.key", "-subj", cert.subject, "-out", f"{name}.csr"],
        [
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.crt",
        ],
    ]


def make_pki(pki: Path) -> None:
    """A small CA and one certificate per component; kept across down/up so copied
    kubeconfigs stay valid. Delete <state>/k8s/pki (or `down --purge`) to start over."""
    pki.mkdir(parents=True, exist_ok=True)
    os.chmod(pki, 0o700)

    def openssl(commands: list[list[str]]) -> None:
        for args in commands:
            run(["openssl", *args], cwd=pki)

    if not (pki / "ca.crt").exists():
        openssl(ca_commands())
    if not (pki / "sa.key").exists():
        openssl(service_account_key_commands())
    for cert in CERTS:
        if (pki / f"{cert.name}.crt").exists():
            continue
        (pki / f"{cert.name}.ext").write_text(cert_extensions(cert))
        openssl(cert_commands(cert))
        (pki / f"{cert.name}.csr").unlink()
        (pki / f"{cert.name}.ext").unlink()
    for f in pki.glob("*.key"):
        os.chmod(f, 0o600)


def write_kubeconfig(path: Path, pki: Path, cert: str, apiserver_port: int) -> None:
    """A kubeconfig at PATH for the certificate CERT of PKI (readable by root only)."""
    cfg = kubeconfig(
        f"https://{HOST_ADDRESS}:{apiserver_port}",
        cert,
        ca=(pki / "ca.crt").read_bytes(),
        cert=(pki / f"{cert}.crt").read_bytes(),
        key=(pki / f"{cert}.key").read_bytes(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f, indent=2)  # JSON is YAML: kubectl and client libraries read it
