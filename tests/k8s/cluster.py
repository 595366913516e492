"""The local Kubernetes cluster for tests: started with the same script as `make cluster-up`
(tools/k8s/cluster.py), with the images of `make images` loaded.

    with local_cluster() as kube:
        kube.kubectl("get", "nodes")
        kube.host_address   # where pods reach a server listening on 127.0.0.1 (same port)

If a cluster already runs in the state dir (`make cluster-up`), it is used and left running;
otherwise one is started and stopped at the end, and the stop is checked: no process, mount,
bridge or iptables rule of it may remain. Anything missing (binaries, images, Debian packages)
is built or installed on the way; what cannot be is an error, never a skip.

The state dir is $SIMLAB_K8S_STATE_DIR, else the repository's .simlab (the same as `make
cluster-up`), so that one machine runs one cluster and the loaded images are reused.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_PY = ROOT / "tools" / "k8s" / "cluster.py"
IMAGES_SH = ROOT / "deploy" / "images" / "build.sh"
KUBECTL = ROOT / ".tools" / "k8s" / "bin" / "kubectl"
IMAGES_LIST = ROOT / ".tools" / "images" / "current"


class ClusterFailed(RuntimeError):
    pass


Progress = Callable[[str], None]


def _run(cmd: list[str], timeout: float, progress: Progress | None = None, **kw: Any) -> str:
    """Runs cmd; its output lines (the scripts' progress: "building Kubernetes ...") go to
    progress as they come, so a long first build does not look like a hang."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    with subprocess.Popen(
        cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw
    ) as p:
        assert p.stdout is not None
        for line in p.stdout:
            lines.append(line)
            if progress and line.strip():
                progress(line.rstrip())
            if time.monotonic() > deadline:
                p.kill()
                raise ClusterFailed(f"{' '.join(map(str, cmd))} took over {timeout:.0f} s")
        code = p.wait(max(1.0, deadline - time.monotonic()))
    if code != 0:
        raise ClusterFailed(
            f"{' '.join(map(str, cmd))} failed with exit code {code}:\n{''.join(lines)[-5000:]}"
        )
    return "".join(lines)


@dataclass
class KubeCluster:
    state_dir: Path
    info: dict[str, Any]
    images: dict[str, str] = field(default_factory=dict)  # name -> version-tagged reference

    @property
    def kubeconfig(self) -> Path:
        return Path(self.info["kubeconfig"])

    @property
    def host_address(self) -> str:
        return str(self.info["host_address"])

    @property
    def namespace(self) -> str:
        return str(self.info["namespace"])

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(KUBECTL), f"--kubeconfig={self.kubeconfig}", *args]
        p = subprocess.run(cmd, text=True, capture_output=True, input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise ClusterFailed(f"kubectl {' '.join(args)} failed: {p.stderr.strip()}")
        return p

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        ns = ["-n", namespace] if namespace else []
        return json.loads(self.kubectl("get", kind, name, *ns, "-o", "json").stdout)

    def wait_pod_done(self, name: str, namespace: str, timeout: float = 120) -> dict[str, Any]:
        """Waits for a pod to end (Succeeded or Failed); fails early with the reason when it
        cannot start (image missing, refused by the runtime)."""
        deadline = time.monotonic() + timeout
        pod: dict[str, Any] = {}
        while time.monotonic() < deadline:
            pod = self.get("pod", name, namespace)
            status = pod.get("status", {})
            if status.get("phase") in ("Succeeded", "Failed"):
                return pod
            for cs in status.get("containerStatuses", []) or []:
                waiting = cs.get("state", {}).get("waiting") or {}
                if waiting.get("reason") in (
                    "ErrImageNeverPull",
                    "ImagePullBackOff",
                    "ErrImagePull",
                    "CreateContainerConfigError",
                    "CreateContainerError",
                    "InvalidImageName",
                    "RunContainerError",
                ):
                    raise ClusterFailed(f"pod {name} cannot start: {waiting}")
            time.sleep(0.5)
        events = self.kubectl(
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            f"involvedObject.name={name}",
            check=False,
        ).stdout
        raise ClusterFailed(
            f"pod {name} did not finish in {timeout:.0f} s: "
            f"{json.dumps(pod.get('status'))}\n{events}"
        )


def _cluster_cmd(
    command: str, state_dir: Path, timeout: float, progress: Progress | None = None
) -> str:
    return _run(
        [sys.executable, str(CLUSTER_PY), command, "--state-dir", str(state_dir)],
        timeout=timeout,
        progress=progress,
    )


def leftovers(state_dir: Path) -> list[str]:
    """What a stopped cluster must not leave behind (empty when clean)."""
    out: list[str] = []
    k8s = str(state_dir.resolve() / "k8s") + "/"
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mnt = line.split()[4]
        if mnt.startswith(k8s):
            out.append(f"mount {mnt}")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if k8s.rstrip("/") in cmd:
                out.append(f"process {proc.name}: {cmd[:200]}")
    links = subprocess.run(["ip", "-o", "link"], text=True, capture_output=True).stdout
    for line in links.splitlines():
        if "simlab0" in line:
            out.append(f"link {line.split(':')[1].strip()}")
    rules = subprocess.run(["iptables-save"], text=True, capture_output=True).stdout
    out += [f"iptables {r}" for r in rules.splitlines() if "simlab-k8s" in r or "KUBE-" in r]
    return out


@contextlib.contextmanager
def local_cluster(
    state_dir: Path | None = None, progress: Progress | None = None
) -> Iterator[KubeCluster]:
    if state_dir is None:
        state_dir = Path(os.environ.get("SIMLAB_K8S_STATE_DIR") or ROOT / ".simlab")
    if os.geteuid() != 0:
        raise ClusterFailed("the Kubernetes tests need root (the kubelet and containerd do)")
    status = subprocess.run(
        [sys.executable, str(CLUSTER_PY), "status", "--state-dir", str(state_dir)],
        text=True,
        capture_output=True,
        timeout=30,
    )
    started_here = status.returncode != 0
    if started_here:
        # The first run builds Kubernetes from source (10-30 minutes on 2 cores).
        _cluster_cmd("up", state_dir, timeout=3600, progress=progress)
    try:
        # Builds what changed (cached by content) and loads it into the cluster's containerd.
        _run(
            [str(IMAGES_SH), "all"],
            timeout=3600,
            progress=progress,
            env=dict(os.environ, STATE_DIR=str(state_dir)),
        )
        images = {}
        for line in IMAGES_LIST.read_text().splitlines():
            name, ref = line.split()[:2]
            images[name] = ref
        info = json.loads((state_dir / "k8s" / "cluster.json").read_text())
        yield KubeCluster(state_dir=state_dir, info=info, images=images)
    finally:
        if started_here:
            _cluster_cmd("down", state_dir, timeout=300, progress=progress)
            left = leftovers(state_dir)
            if left:
                raise ClusterFailed("cluster-down left behind:\n  " + "\n  ".join(left))
