"""The cluster of one state dir: its files, its processes, its cluster.json, its API and its
containerd."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .constants import BIN, HOST_ADDRESS, NAMESPACE, OWNER
from .host import run
from .layout import Paths
from .procs import Processes


class Cluster:
    def __init__(self, state_dir: Path):
        self.paths = Paths(state_dir.resolve())
        self.procs = Processes(self.paths)

    @property
    def state(self) -> Path:
        return self.paths.state

    def info(self) -> dict[str, Any]:
        """cluster.json: empty when the cluster is not up."""
        f = self.paths.info_file
        return json.loads(f.read_text()) if f.exists() else {}

    def running(self) -> list[str]:
        return self.procs.running()

    def other_owner(self) -> Path | None:
        """The state dir of another cluster that runs on this machine, if any."""
        try:
            owner = Path(OWNER.read_text().strip())
        except OSError:
            return None
        if owner == self.state or not Cluster(owner).running():
            return None
        return owner

    def env_text(self) -> str:
        info = self.info()
        return "\n".join(
            [
                f"export KUBECONFIG={self.paths.kubeconfig}",
                f"export SIMLAB_K8S_HOST_ADDRESS={info.get('host_address', HOST_ADDRESS)}"
                "   # pods reach host services listening on 127.0.0.1 here, same port",
                f"export SIMLAB_K8S_NAMESPACE={NAMESPACE}",
                f"# kubectl: {BIN / 'kubectl'}",
            ]
        )

    # -- the API, as the admin --

    def ssl_context(self) -> ssl.SSLContext:
        pki = self.paths.pki
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        port: int | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, Any]]:
        port = port or self.info()["apiserver_port"]
        req = urllib.request.Request(
            f"https://{HOST_ADDRESS}:{port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=timeout) as r:
                raw = r.read()
                return r.status, (
                    json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()}
                )
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()})

    # -- containerd --

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["ctr", "-a", str(self.paths.ctr_sock), "-n", "k8s.io", *args], check=check)
