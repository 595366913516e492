"""`down`: stops every process and removes what the cluster put on the host (containers,
shims, mounts, network namespaces, iptables rules, the bridge, cgroups, sysctls). Safe to
repeat; `up` runs it first to clear a crashed cluster's leftovers."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from .constants import CGROUP_ROOTS, OWNER, PROCESSES
from .host import ClusterError, log, read_sysctl, rm_rf, run, write_sysctl
from .network import remove_netns, teardown_network
from .procs import Say
from .state import Cluster


def down(c: Cluster, purge: bool = False, quiet: bool = False) -> None:
    """Stops everything and removes what the cluster put on the host. Safe to repeat."""
    if os.geteuid() != 0:
        raise ClusterError("cluster-down needs root, like cluster-up")
    say: Say = (lambda m: None) if quiet else log
    paths = c.paths
    info = c.info()
    if c.procs.pid("kube-apiserver") and c.procs.pid("kubelet"):
        drain(c, say)
    for name in reversed(PROCESSES):
        if name == "containerd":
            remove_containers(c)
        c.procs.stop(name, say)
    kill_shims(c, say)
    unmount_all(c)
    # What is shared by the machine is left alone while another cluster runs.
    if c.other_owner() is None:
        remove_netns(say)
        teardown_network()
        remove_cgroups()
        for key, value in info.get("sysctls", {}).items():
            if value is not None and read_sysctl(key) != value:
                write_sysctl(key, value)
        # The shims' socket dir (containerd 1.6 puts it there whatever its state dir).
        for d in (Path("/run/containerd/s"), Path("/run/containerd")):
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty: a system containerd's stays
        with contextlib.suppress(OSError):
            if OWNER.read_text().strip() == str(c.state):
                OWNER.unlink()
            OWNER.parent.rmdir()
    # Volatile state goes; the PKI and the image store (containerd/root) stay for the next
    # `up` unless purged.
    for p in (
        paths.etcd_data,
        paths.kubelet_dir,
        paths.cni_dir,
        paths.ctr_dir / "state",
        paths.ctr_dir / "runc",
        paths.ctr_dir / "root" / "io.containerd.grpc.v1.cri",
        paths.pod_logs,
        paths.pids,
        paths.info_file,
    ):
        rm_rf(p)
    if purge:
        rm_rf(paths.dir)
    if info:
        say("cluster stopped; no process, mount, bridge or iptables rule of it is left")


def drain(c: Cluster, say: Say) -> None:
    """Deletes every pod while the kubelet runs, so it stops them the normal way (CNI DEL)."""
    for name in ("kube-controller-manager", "kube-scheduler"):
        c.procs.stop(name, say)  # nothing recreates what is deleted
    code, pods = c.api("GET", "/api/v1/pods", timeout=5)
    if code != 200:
        return
    for pod in pods.get("items", []):
        md = pod["metadata"]
        c.api(
            "DELETE",
            f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}",
            {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0},
            timeout=5,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        # Job pods keep a finalizer (the job controller is stopped), and etcd's data goes
        # anyway: what matters is that the kubelet has stopped every container and sandbox.
        tasks = c.ctr("tasks", "ls", "-q", check=False).stdout.split()
        if not tasks:
            return
        time.sleep(0.5)


def remove_containers(c: Cluster) -> None:
    """What the kubelet left running in our containerd: killed and deleted via ctr."""
    if c.procs.pid("containerd") is None:
        return
    for tid in c.ctr("tasks", "ls", "-q", check=False).stdout.split():
        c.ctr("tasks", "kill", "-a", "-s", "SIGKILL", tid, check=False)
    for tid in c.ctr("tasks", "ls", "-q", check=False).stdout.split():
        for _ in range(20):
            if c.ctr("tasks", "delete", "-f", tid, check=False).returncode == 0:
                break
            time.sleep(0.25)
    for cid in c.ctr("containers", "ls", "-q", check=False).stdout.split():
        c.ctr("containers", "delete", cid, check=False)


def kill_shims(c: Cluster, say: Say) -> None:
    """containerd-shim-runc-v2 processes outlive containerd; ours name our socket."""
    needle = str(c.paths.ctr_sock).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmd.split(b"\0")[0] and needle in cmd:
            say(f"killing leftover shim {proc.name}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def our_mounts(c: Cluster) -> list[str]:
    out = []
    prefix = str(c.paths.dir) + "/"
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mnt = line.split()[4].replace("\\040", " ")
        if mnt.startswith(prefix):
            out.append(mnt)
    return out


def unmount_all(c: Cluster) -> None:
    for _ in range(5):
        mounts = our_mounts(c)
        if not mounts:
            return
        for m in sorted(set(mounts), key=len, reverse=True):
            if run(["umount", m], check=False).returncode != 0:
                run(["umount", "-l", m], check=False)
    left = our_mounts(c)
    if left:
        raise ClusterError(f"could not unmount: {' '.join(left)}")


def remove_cgroups() -> None:
    """The kubelet's kubepods hierarchy in every cgroup controller, once it is empty."""
    base = Path("/sys/fs/cgroup")
    roots = [base / "unified"] + [d for d in base.iterdir() if d.is_dir() and d.name != "unified"]
    for ctrl in roots:
        for name in CGROUP_ROOTS:
            top = ctrl / name
            if not top.is_dir():
                continue
            dirs = sorted((d for d, _, _ in os.walk(top)), key=lambda d: d.count("/"), reverse=True)
            for d in dirs:
                try:
                    procs = Path(d, "cgroup.procs").read_text().split()
                    for pid in procs:  # only processes of pods: the kubelet is stopped
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(pid), signal.SIGKILL)
                    for _ in range(20):
                        try:
                            os.rmdir(d)
                            break
                        except OSError:
                            time.sleep(0.05)
                except OSError:
                    pass
