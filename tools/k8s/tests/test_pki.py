"""The cluster's certificates: what each one is for, and a real PKI made with openssl."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from localcluster.constants import HOST_ADDRESS, KUBERNETES_SERVICE_IP, NODE_NAME
from localcluster.pki import CERTS, Cert, cert_commands, cert_extensions, make_pki, write_kubeconfig

BY_NAME = {c.name: c for c in CERTS}


def test_each_certificate_once() -> None:
    assert len(BY_NAME) == len(CERTS)


def test_servers_are_named_by_every_address_clients_use() -> None:
    apiserver = BY_NAME["apiserver"].sans
    assert f"IP:{HOST_ADDRESS}" in apiserver
    assert f"IP:{KUBERNETES_SERVICE_IP}" in apiserver  # the `kubernetes` Service
    assert "DNS:kubernetes.default.svc.cluster.local" in apiserver
    assert f"IP:{HOST_ADDRESS}" in BY_NAME["kubelet"].sans
    assert "IP:127.0.0.1" in BY_NAME["etcd"].sans
    assert {c.name for c in CERTS if c.server} == {"etcd", "apiserver", "kubelet"}


def test_identities_that_rbac_and_the_node_authorizer_expect() -> None:
    assert BY_NAME["kubelet-client"].subject == f"/O=system:nodes/CN=system:node:{NODE_NAME}"
    assert BY_NAME["kube-proxy"].subject == "/CN=system:kube-proxy"
    assert BY_NAME["controller-manager"].subject == "/CN=system:kube-controller-manager"
    assert BY_NAME["admin"].subject.startswith("/O=system:masters/")


def test_extensions() -> None:
    server = cert_extensions(Cert("s", "/CN=s", True, ("IP:1.2.3.4", "DNS:s")))
    assert server.splitlines() == [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth,clientAuth",
        "subjectAltName=IP:1.2.3.4,DNS:s",
    ]
    client = cert_extensions(Cert("c", "/CN=c", False))
    assert "extendedKeyUsage=clientAuth" in client.splitlines()
    assert "subjectAltName" not in client


def test_cert_commands_sign_the_request_with_the_ca() -> None:
    genrsa, req, x509 = cert_commands(BY_NAME["admin"])
    assert genrsa[-2:] == ["admin.key", "2048"]
    assert req[req.index("-subj") + 1] == BY_NAME["admin"].subject
    assert x509[x509.index("-CA") + 1] == "ca.crt"
    assert x509[x509.index("-extfile") + 1] == "admin.ext"
    assert x509[-1] == "admin.crt"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_make_pki_makes_a_ca_and_verifiable_certificates_once(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    make_pki(pki)
    names = {p.name for p in pki.iterdir()}
    assert {f"{c.name}.crt" for c in CERTS} | {"ca.crt", "ca.key", "sa.key", "sa.pub"} <= names
    assert not any(n.endswith((".csr", ".ext")) for n in names)
    assert all((pki / n).stat().st_mode & 0o077 == 0 for n in names if n.endswith(".key"))
    crts = [str(pki / f"{c.name}.crt") for c in CERTS]
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki / "ca.crt"), *crts], capture_output=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    before = {p.name: p.read_bytes() for p in pki.iterdir()}
    make_pki(pki)  # kept across down/up: nothing is made again
    assert {p.name: p.read_bytes() for p in pki.iterdir()} == before

    kubeconfig = tmp_path / "admin.kubeconfig"
    write_kubeconfig(kubeconfig, pki, "admin", 6443)
    assert kubeconfig.stat().st_mode & 0o077 == 0
    cfg = json.loads(kubeconfig.read_text())
    assert cfg["clusters"][0]["cluster"]["server"] == f"https://{HOST_ADDRESS}:6443"
