"""Smoke tests of the local cluster: a real node, the worker image under the restricted Pod
Security profile, PodSecurity refusing a privileged pod, and pods reaching the host."""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

# The first run builds Kubernetes and the images; later runs take seconds.
pytestmark = pytest.mark.timeout(3600)

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod(name: str, image: str, command: list[str] | None, security: dict[str, Any]) -> str:
    """A pod manifest (JSON); with command None the image's own command runs."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "Never",
        "securityContext": security,
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
    }
    if command is not None:
        container["command"] = command
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "simlab-tests"}},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 1,
                "containers": [container],
            },
        }
    )


@pytest.fixture
def pod_name(kube: Any) -> Iterator[str]:
    name = f"smoke-{secrets.token_hex(4)}"
    yield name
    kube.kubectl(
        "delete",
        "pod",
        name,
        "-n",
        kube.namespace,
        "--ignore-not-found",
        "--wait=false",
        "--grace-period=0",
        "--force",
        check=False,
    )


def test_node_is_ready(kube: Any) -> None:
    node = kube.get("node", kube.info["node"])
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions["Ready"] == "True", node["status"]["conditions"]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == kube.info["version"]
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    ns = kube.get("namespace", kube.namespace)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_worker_image_runs_under_restricted_profile(kube: Any, pod_name: str) -> None:
    check = (
        "import numpy, scipy, matplotlib, simlab_worker, simlab.models;"
        "print('versions', numpy.__version__, scipy.__version__, matplotlib.__version__)"
    )
    created = kube.kubectl(
        "create",
        "-n",
        kube.namespace,
        "-f",
        "-",
        input=pod(pod_name, kube.images["worker"], ["python", "-c", check], RESTRICTED),
    )
    # Nothing in the pod violates the profile: no admission warning either.
    assert "Warning" not in created.stderr, created.stderr
    done = kube.wait_pod_done(pod_name, kube.namespace, timeout=180)
    logs = kube.kubectl("logs", "-n", kube.namespace, pod_name).stdout
    assert done["status"]["phase"] == "Succeeded", (done["status"], logs)
    assert "versions 2.4.6 1.17.1 3.11.2" in logs, logs


def test_worker_image_default_command_is_the_worker(kube: Any, pod_name: str) -> None:
    kube.kubectl(
        "create",
        "-n",
        kube.namespace,
        "-f",
        "-",
        input=pod(pod_name, kube.images["worker"], None, RESTRICTED),
    )
    done = kube.wait_pod_done(pod_name, kube.namespace, timeout=180)
    # With no settings the worker says what is missing and exits 2 ("can never run here"):
    # proof that the image's default command is the worker entrypoint.
    terminated = done["status"]["containerStatuses"][0]["state"]["terminated"]
    logs = kube.kubectl("logs", "-n", kube.namespace, pod_name).stdout
    assert terminated["exitCode"] == 2, (terminated, logs)
    assert "bad configuration" in logs, logs


def test_privileged_pod_is_refused_by_pod_security(kube: Any, pod_name: str) -> None:
    privileged = {"privileged": True, "runAsUser": 0}
    p = kube.kubectl(
        "create",
        "-n",
        kube.namespace,
        "-f",
        "-",
        check=False,
        input=pod(pod_name, kube.images["worker"], ["true"], privileged),
    )
    assert p.returncode != 0, p.stdout
    assert 'violates PodSecurity "restricted:latest"' in p.stderr, p.stderr
    assert "privileged" in p.stderr, p.stderr
    missing = kube.kubectl("get", "pod", pod_name, "-n", kube.namespace, check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_pod_reaches_a_server_on_the_host(kube: Any, pod_name: str) -> None:
    # A server of the platform's kind: listening on loopback only.
    token = secrets.token_hex(8)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    seen: list[str] = []

    def serve() -> None:
        server.settimeout(180)
        with server:
            conn, addr = server.accept()
            with conn:
                seen.append(addr[0])
                conn.sendall(f"hello {token}\n".encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = (
        "import socket;"
        f"s = socket.create_connection(('{kube.host_address}', {port}), timeout=20);"
        "print('got', s.recv(100).decode().strip())"
    )
    kube.kubectl(
        "create",
        "-n",
        kube.namespace,
        "-f",
        "-",
        input=pod(pod_name, kube.images["worker"], ["python", "-c", client], RESTRICTED),
    )
    done = kube.wait_pod_done(pod_name, kube.namespace, timeout=180)
    logs = kube.kubectl("logs", "-n", kube.namespace, pod_name).stdout
    assert done["status"]["phase"] == "Succeeded", (done["status"], logs)
    assert f"got hello {token}" in logs, logs
    thread.join(5)
    # The connection came from the pod's own address (DNAT'ed to loopback), not from the host.
    assert seen, "the server saw no connection"
    assert ipaddress.ip_address(seen[0]) in ipaddress.ip_network(kube.info["pod_subnet"]), seen


def test_pod_reaches_services_by_cluster_dns_name(kube: Any, pod_name: str) -> None:
    """What a Helm install relies on: cluster DNS names and ClusterIPs work from a pod, for the
    API server (in-cluster clients such as the runner) and for another pod behind a Service."""
    server = f"{pod_name}-srv"
    token = secrets.token_hex(8)
    serve = (
        "import socket;"
        "s = socket.create_server(('0.0.0.0', 8080));"
        "s.settimeout(170);"
        "c, _ = s.accept();"
        f"c.sendall(b'hello {token}\\n');"
        "c.close()"
    )
    server_pod = json.loads(pod(server, kube.images["worker"], ["python", "-c", serve], RESTRICTED))
    server_pod["metadata"]["labels"]["smoke"] = server
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": server},
        "spec": {"selector": {"smoke": server}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    # Retried: a new Service refuses connections until kube-proxy has programmed it.
    client = f"""
import socket, time
api = socket.gethostbyname('kubernetes.default.svc.cluster.local')
print('api', api, flush=True)
socket.create_connection((api, 443), timeout=20).close()
print('api connected', flush=True)
svc = socket.gethostbyname('{server}')  # the short name, through the search path
print('svc', svc, flush=True)
for attempt in range(60):
    try:
        s = socket.create_connection(('{server}', 80), timeout=5)
        break
    except (ConnectionRefusedError, TimeoutError) as error:
        print('retrying:', error, flush=True)
        time.sleep(0.5)
print('got', s.recv(100).decode().strip())
"""
    try:
        for manifest in (server_pod, service):
            kube.kubectl("create", "-n", kube.namespace, "-f", "-", input=json.dumps(manifest))
        kube.kubectl(
            "wait", "-n", kube.namespace, "--for=condition=Ready", f"pod/{server}", "--timeout=120s"
        )
        kube.kubectl(
            "create",
            "-n",
            kube.namespace,
            "-f",
            "-",
            input=pod(pod_name, kube.images["worker"], ["python", "-c", client], RESTRICTED),
        )
        done = kube.wait_pod_done(pod_name, kube.namespace, timeout=180)
        logs = kube.kubectl("logs", "-n", kube.namespace, pod_name).stdout
        assert done["status"]["phase"] == "Succeeded", logs
        cluster_ip = kube.get("service", server, kube.namespace)["spec"]["clusterIP"]
        kubernetes_ip = kube.get("service", "kubernetes", "default")["spec"]["clusterIP"]
        lines = [line for line in logs.splitlines() if not line.startswith("retrying:")]
        assert lines == [
            f"api {kubernetes_ip}",
            "api connected",
            f"svc {cluster_ip}",
            f"got hello {token}",
        ], logs
    finally:
        kube.kubectl(
            "delete",
            "-n",
            kube.namespace,
            f"pod/{server}",
            f"service/{server}",
            "--ignore-not-found",
            "--wait=false",
            "--grace-period=0",
            "--force",
            check=False,
        )
