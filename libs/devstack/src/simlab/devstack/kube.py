"""The embedded stack on the local Kubernetes cluster (`make cluster-up`): the runner gets
its own ServiceAccount with a namespaced Role (never the admin's credentials), and a
kubeconfig holding that account's token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from simlab.devstack.files import write_private

NAMESPACE = "simlab-jobs"
IMAGES_LIST = Path(__file__).resolve().parents[5] / ".tools" / "images" / "current"


def loaded_image(name: str, images_list: Path = IMAGES_LIST) -> str:
    """The version-tagged reference of an image that `make images` loaded into the cluster."""
    if images_list.exists():
        for line in images_list.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return parts[1]
    raise RuntimeError(f"no {name} image in {images_list}: run `make images`")


def pod_reachable(url: str, host_address: str) -> str:
    """The URL of a service on this machine's loopback as pods see it (the bridge address;
    the cluster forwards it to 127.0.0.1, same port)."""
    for loopback in ("127.0.0.1", "localhost"):
        url = url.replace(f"//{loopback}:", f"//{host_address}:")
        if url.startswith(f"{loopback}:"):
            url = host_address + url[len(loopback) :]
    return url


def cluster_info(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "k8s" / "cluster.json"
    if not path.exists():
        raise RuntimeError(f"no cluster at {path}: run `make cluster-up` first")
    return dict(json.loads(path.read_text()))


# The runner's identity is deployment data that the runner's code never reads: the chart
# declares it (templates/runner.yaml, checked against runner_rbac() by check_rendered.py) and
# the local cluster gets it from here.
RUNNER_ACCOUNT = "simlab-runner"


def runner_rbac(namespace: str) -> list[dict[str, Any]]:
    """The runner's ServiceAccount and a Role in the simulation namespace with only the verbs
    it uses: Jobs it creates, watches and deletes; pods and their logs it reads; token
    Secrets it creates, patches and deletes, never reads."""
    meta = {
        "name": RUNNER_ACCOUNT,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/part-of": "simlab"},
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {
                    "apiGroups": ["batch"],
                    "resources": ["jobs"],
                    "verbs": ["create", "get", "list", "watch", "delete"],
                },
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    # Writes only: the runner never reads a Secret back.
                    "verbs": ["create", "patch", "delete"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": RUNNER_ACCOUNT,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": RUNNER_ACCOUNT, "namespace": namespace}
            ],
        },
    ]


def runner_kubeconfig(admin_kubeconfig: Path, out: Path, namespace: str = NAMESPACE) -> Path:
    """Applies the runner's RBAC with the admin kubeconfig and writes a kubeconfig that
    authenticates as the runner's ServiceAccount (a 24-hour token from the TokenRequest API)."""
    from kubernetes import client, config, utils

    api = config.new_client_from_config(str(admin_kubeconfig))
    for manifest in runner_rbac(namespace):
        try:
            utils.create_from_dict(api, manifest)
        except utils.FailToCreateError as error:
            if not all(e.status == 409 for e in error.api_exceptions):
                raise
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=24 * 3600)
    )
    granted = client.CoreV1Api(api).create_namespaced_service_account_token(
        RUNNER_ACCOUNT, namespace, request
    )
    if granted.status is None:
        raise RuntimeError(f"no token was issued for the ServiceAccount {RUNNER_ACCOUNT}")
    token = granted.status.token
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": RUNNER_ACCOUNT, "user": {"token": token}}],
        "contexts": [
            {
                "name": RUNNER_ACCOUNT,
                "context": {
                    "cluster": cluster["name"],
                    "user": RUNNER_ACCOUNT,
                    "namespace": namespace,
                },
            }
        ],
        "current-context": RUNNER_ACCOUNT,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_private(out, yaml.safe_dump(kubeconfig))
    return out
