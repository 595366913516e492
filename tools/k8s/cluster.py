#!/usr/bin/env python3
"""A real single-node Kubernetes cluster on this machine, bound to loopback, without Docker.

    tools/k8s/cluster.py build              build the pinned Kubernetes binaries (once, cached)
    tools/k8s/cluster.py up [--state-dir D] start etcd, kube-apiserver, kube-controller-manager,
                                            kube-scheduler, containerd, kubelet, kube-proxy and
                                            CoreDNS; wait until the node is Ready, Services and
                                            cluster DNS answer and namespace simlab-jobs is usable
    tools/k8s/cluster.py down [--purge]     stop all of it; unmount, delete the bridge, the
                                            iptables rules and the cgroups it made
    tools/k8s/cluster.py status             say what runs
    tools/k8s/cluster.py env                print the settings a client needs (shell syntax)

`make cluster-up`, `make cluster-down` and the pytest fixture in tests/k8s/ all call this file.
Standard library only: it runs with any python3 >= 3.9, before the project's venv exists.

Everything lives in <state>/k8s (default state dir: .simlab in the repository root):
  admin.kubeconfig     cluster-admin credentials (client certificate)
  cluster.json         ports, addresses and versions of the running cluster
  pki/                 a small CA and the certificates of every component (openssl)
  etcd/ containerd/ kubelet/ cni/    data of each component;  logs/  one log per process
Binaries and caches live in .tools/ (git-ignored): .tools/k8s/bin holds the binaries built from
the wrapper Go module tools/k8s/gomod, whose go.mod is the one place the version is pinned.

Pods reach services on the host through the bridge's address (HOST_ADDRESS below, also in
cluster.json as "host_address"): a DNAT rule sends TCP from pods to that address on to
127.0.0.1, same port, so a platform service listening on 127.0.0.1:PORT is reachable from a pod
at HOST_ADDRESS:PORT without changing what it binds. Pods have no route beyond the host.

Services work as on any cluster: kube-proxy (iptables mode) runs on the host and CoreDNS, also
on the host, answers for cluster.local behind the usual kube-dns Service (DNS_SERVICE_IP), so a
Helm chart's `postgresql.<ns>.svc` names and ClusterIPs resolve and connect from pods. The
kube-apiserver listens on HOST_ADDRESS (not 127.0.0.1) because that is the address the
`kubernetes` Service forwards in-cluster clients to; it is on the bridge only, not on any
outside interface.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOMOD = ROOT / "tools" / "k8s" / "gomod"
TOOLS = ROOT / ".tools"
BIN = TOOLS / "k8s" / "bin"
IMAGES_SH = ROOT / "deploy" / "images" / "build.sh"

NODE_NAME = "simlab-node"
NAMESPACE = "simlab-jobs"
BRIDGE = "simlab0"
POD_SUBNET = "10.250.0.0/24"
HOST_ADDRESS = "10.250.0.1"  # the bridge's address: pods reach the host here
SERVICE_SUBNET = "10.251.0.0/24"
SANDBOX_IMAGE = "docker.io/simlab/pause:dev"
IPT_COMMENT = "simlab-k8s"
COREDNS_USER = "simlab:coredns"
CGROUP_ROOTS = ("kubepods", "kubepods.slice")
# One cluster per machine (they would share the bridge, the iptables rule and the kubelet's
# cgroups): this file names the state dir of the one that runs.
OWNER = Path("/run/simlab-k8s/owner")
SERVICE_SUBNET_ROUTE = {"dst": SERVICE_SUBNET}  # pods reach ClusterIPs through the host
DNS_SERVICE_IP = SERVICE_SUBNET.rsplit(".", 1)[0] + ".10"
CLUSTER_DOMAIN = "cluster.local"
COREDNS_MOD = ROOT / "tools" / "k8s" / "coredns"
COMPONENTS = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
]
# Started in this order, stopped in the reverse one.
PROCESSES = [
    "etcd",
    "containerd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "coredns",
]
# What `up` needs from Debian, by the command that proves it is there.
DEBIAN = {
    "etcd": "etcd-server",
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "openssl": "openssl",
    "iptables": "iptables",
    "conntrack": "conntrack",  # kube-proxy clears stale UDP (DNS) entries with it
    "ip": "iproute2",
    "buildah": "buildah",
    "mount": "mount",
}
# Kernel settings the kubelet rewrites when it starts (protectKernelDefaults: false);
# `up` records them and `down` puts them back.
KUBELET_SYSCTLS = [
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
]


class ClusterError(Exception):
    """A failure with a message that says what to do."""


def log(msg: str) -> None:
    print(f"k8s: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    if check and p.returncode != 0:
        out = ((p.stderr or "") + (p.stdout or "")).strip()
        raise ClusterError(f"{' '.join(map(str, cmd))} failed (exit {p.returncode}): {out[-2000:]}")
    return p


# ---- the pinned version and the build --------------------------------------------------------


def pinned_version() -> str:
    m = re.search(
        r"^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\S+)", (GOMOD / "go.mod").read_text(), re.M
    )
    if not m:
        raise ClusterError(f"no k8s.io/kubernetes requirement in {GOMOD / 'go.mod'}")
    return m.group(1)


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOPATH=str(TOOLS / "go"),
        GOCACHE=str(TOOLS / "go-build"),
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
        GOFLAGS=(env.get("GOFLAGS", "") + " -modcacherw -trimpath -buildvcs=false").strip(),
    )
    return env


def require_go() -> None:
    if not shutil.which("go"):
        raise ClusterError(
            "'go' is not on PATH: install Go 1.26 or newer (https://go.dev/dl/) to build the "
            f"Kubernetes components pinned in {GOMOD / 'go.mod'} and CoreDNS"
        )


def build_stamp() -> str:
    h = hashlib.sha256()
    for f in ("go.mod", "go.sum"):
        h.update((GOMOD / f).read_bytes())
    h.update(" ".join(COMPONENTS).encode())
    return f"{pinned_version()} {h.hexdigest()[:16]}"


def go_build(module: Path, ldflags: str, out: str, pkgs: list[str], what: str) -> None:
    """`go build` in a wrapper module (OUT a file, or a directory when it ends with /)."""
    p = subprocess.run(
        ["go", "build", "-ldflags", ldflags, "-o", out, *pkgs],
        cwd=module,
        env=go_env(),
        text=True,
        stderr=subprocess.PIPE,
    )
    if p.returncode != 0:
        raise ClusterError(f"go build of {what} failed:\n{p.stderr[-4000:]}")


def build() -> None:
    """Builds the pinned components and CoreDNS into .tools/k8s/bin once; stamps record which."""
    build_kubernetes()
    build_coredns()


def build_coredns() -> None:
    """CoreDNS from the wrapper module tools/k8s/coredns (its go.mod pins the version)."""
    stamp = BIN / "coredns.VERSION"
    h = hashlib.sha256()
    for f in ("go.mod", "go.sum", "main.go"):
        h.update((COREDNS_MOD / f).read_bytes())
    want = h.hexdigest()[:16]
    if stamp.exists() and stamp.read_text().strip() == want and (BIN / "coredns").exists():
        return
    t0 = time.monotonic()
    require_go()
    log(f"building CoreDNS ({COREDNS_MOD.relative_to(ROOT)}) - about a minute, once")
    BIN.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    go_build(COREDNS_MOD, "-s -w", str(BIN / "coredns"), ["."], "CoreDNS")
    stamp.write_text(want + "\n")
    log(f"built CoreDNS in {time.monotonic() - t0:.0f} s")


def build_kubernetes() -> None:
    stamp = BIN / "VERSION"
    want = build_stamp()
    if (
        stamp.exists()
        and stamp.read_text().strip() == want
        and all((BIN / c).exists() for c in COMPONENTS)
    ):
        return
    require_go()
    version = pinned_version()
    major, minor = version.lstrip("v").split(".")[:2]
    x = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        x += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    ldflags = "-s -w " + " ".join(x)
    BIN.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    t0 = time.monotonic()
    log(
        f"building Kubernetes {version} ({', '.join(COMPONENTS)}) into {BIN.relative_to(ROOT)}"
        " - 10 to 30 minutes the first time on 2 cores, cached afterwards"
    )
    pkgs = [f"k8s.io/kubernetes/cmd/{c}" for c in COMPONENTS]
    go_build(GOMOD, ldflags, f"{BIN}/", pkgs, f"Kubernetes {version}")
    stamp.write_text(want + "\n")
    log(f"built Kubernetes {version} in {time.monotonic() - t0:.0f} s")


# ---- prerequisites ---------------------------------------------------------------------------


def have(cmd: str) -> bool:
    return os.access(cmd, os.X_OK) if cmd.startswith("/") else shutil.which(cmd) is not None


def preflight() -> None:
    if os.geteuid() != 0:
        raise ClusterError(
            "the kubelet and containerd need root (mounts, cgroups, network namespaces): "
            "run 'make cluster-up' as root"
        )
    for d in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids"):
        if not Path(d).is_dir() and not Path("/sys/fs/cgroup/cgroup.controllers").exists():
            raise ClusterError(
                f"no cgroup hierarchy at {d}: the kubelet needs the memory, cpu and pids cgroups"
            )
    missing = sorted({pkg for cmd, pkg in DEBIAN.items() if not have(cmd)})
    if missing:
        if not shutil.which("apt-get"):
            raise ClusterError(
                f"missing Debian packages {' '.join(missing)}; install them and run again"
            )
        log(f"installing {' '.join(missing)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", *missing], env=env)
        still = sorted(cmd for cmd in DEBIAN if not have(cmd))
        if still:
            raise ClusterError(f"still missing after apt-get install: {' '.join(still)}")


# ---- the state dir ---------------------------------------------------------------------------


class Cluster:
    def __init__(self, state_dir: Path):
        self.state = state_dir.resolve()
        self.dir = self.state / "k8s"
        self.pki = self.dir / "pki"
        self.logs = self.dir / "logs"
        self.pids = self.dir / "pids"
        self.info_file = self.dir / "cluster.json"
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.ctr_dir = self.dir / "containerd"
        self.ctr_sock = self.ctr_dir / "containerd.sock"
        self.kubelet_dir = self.dir / "kubelet"
        self.cni_dir = self.dir / "cni"

    # -- helpers --

    def info(self) -> dict:
        return json.loads(self.info_file.read_text()) if self.info_file.exists() else {}

    def pid(self, name: str) -> int | None:
        f = self.pids / f"{name}.pid"
        if not f.exists():
            return None
        try:
            pid = int(f.read_text().split()[0])
        except (ValueError, IndexError):
            return None
        return pid if self._alive(pid, self._exe_of(name)) else None

    def _exe_of(self, name: str) -> str:
        return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name

    @staticmethod
    def _alive(pid: int, exe: str) -> bool:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        state = stat.rsplit(")", 1)[1].split()[0]
        # An empty command line: a process between fork and exec, or exiting; its stat name
        # (the first 15 characters of the executable's name) still tells whose it is.
        comm = stat.split("(", 1)[1].rsplit(")", 1)[0]
        name = Path(cmd).name if cmd else comm
        return state != "Z" and Path(exe).name[:15].startswith(name[:15])

    def start(self, name: str, args: list[str], env: dict | None = None) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        exe = self._exe_of(name)
        logf = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        logf.write(f"\n==== {time.strftime('%F %T')} {exe} {' '.join(args)}\n".encode())
        logf.flush()
        p = subprocess.Popen(
            [exe, *args],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env or dict(os.environ),
            cwd=self.dir,
        )
        logf.close()
        (self.pids / f"{name}.pid").write_text(f"{p.pid}\n")
        return p.pid

    def log_tail(self, name: str, n: int = 25) -> str:
        f = self.logs / f"{name}.log"
        if not f.exists():
            return "(no log)"
        lines = f.read_text(errors="replace").splitlines()
        return "\n".join("    " + ln for ln in lines[-n:])

    def wait(self, what: str, proc: str, check, timeout: float) -> None:
        """Waits until check() is true; fails with the process's log when it dies or times out."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.pid(proc) is None:
                raise ClusterError(
                    f"{proc} exited while waiting for {what}; its log "
                    f"({self.logs / (proc + '.log')}):\n{self.log_tail(proc)}"
                )
            try:
                if check():
                    return
            except Exception as exc:
                last = exc
            time.sleep(0.25)
        raise ClusterError(
            f"timed out after {timeout:.0f} s waiting for {what} (last error: {last}); "
            f"log of {proc} ({self.logs / (proc + '.log')}):\n{self.log_tail(proc)}"
        )

    # -- the API --

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def api(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        port: int | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict]:
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

    # -- PKI --

    def make_pki(self) -> None:
        """A small CA and one certificate per component; kept across down/up so copied
        kubeconfigs stay valid. Delete <state>/k8s/pki (or `down --purge`) to start over."""
        pki = self.pki
        pki.mkdir(parents=True, exist_ok=True)
        os.chmod(pki, 0o700)

        def ossl(*args: str) -> None:
            run(["openssl", *args], cwd=pki)

        if not (pki / "ca.crt").exists():
            ossl("genrsa", "-out", "ca.key", "2048")
            ossl(
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
            )
        if not (pki / "sa.key").exists():
            ossl("genrsa", "-out", "sa.key", "2048")
            ossl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")

        def cert(name: str, subj: str, server: bool, sans: list[str] = ()) -> None:
            if (pki / f"{name}.crt").exists():
                return
            ext = [
                "basicConstraints=CA:FALSE",
                "keyUsage=critical,digitalSignature,keyEncipherment",
            ]
            ext.append("extendedKeyUsage=" + ("serverAuth,clientAuth" if server else "clientAuth"))
            if sans:
                ext.append("subjectAltName=" + ",".join(sans))
            (pki / f"{name}.ext").write_text("\n".join(ext) + "\n")
            ossl("genrsa", "-out", f"{name}.key", "2048")
            ossl("req", "-new", "-key", f"{name}.key", "-subj", subj, "-out", f"{name}.csr")
            ossl(
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
            )
            (pki / f"{name}.csr").unlink()
            (pki / f"{name}.ext").unlink()

        local = ["IP:127.0.0.1", "DNS:localhost"]
        cert("etcd", "/CN=etcd", True, local)
        cert("apiserver-etcd-client", "/CN=kube-apiserver-etcd-client", False)
        cert(
            "apiserver",
            "/CN=kube-apiserver",
            True,
            [
                *local,
                f"IP:{HOST_ADDRESS}",
                "IP:" + SERVICE_SUBNET.rsplit(".", 1)[0] + ".1",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
            ],
        )
        cert(
            "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", False
        )
        cert("admin", "/O=system:masters/CN=simlab-admin", False)
        cert("front-proxy-client", "/CN=front-proxy-client", False)
        cert("controller-manager", "/CN=system:kube-controller-manager", False)
        cert("scheduler", "/CN=system:kube-scheduler", False)
        # The bootstrap RBAC binds system:node-proxier to this user.
        cert("kube-proxy", "/CN=system:kube-proxy", False)
        cert("coredns", f"/CN={COREDNS_USER}", False)
        cert("kubelet-client", f"/O=system:nodes/CN=system:node:{NODE_NAME}", False)
        cert(
            "kubelet",
            f"/CN={NODE_NAME}",
            True,
            [f"IP:{HOST_ADDRESS}", "IP:127.0.0.1", f"DNS:{NODE_NAME}"],
        )
        for f in pki.glob("*.key"):
            os.chmod(f, 0o600)

    def write_kubeconfig(self, path: Path, cert: str, port: int) -> None:
        def b64(name: str) -> str:
            return base64.b64encode((self.pki / name).read_bytes()).decode()

        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "simlab",
                    "cluster": {
                        "server": f"https://{HOST_ADDRESS}:{port}",
                        "certificate-authority-data": b64("ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": cert,
                    "user": {
                        "client-certificate-data": b64(f"{cert}.crt"),
                        "client-key-data": b64(f"{cert}.key"),
                    },
                }
            ],
            "contexts": [{"name": "simlab", "context": {"cluster": "simlab", "user": cert}}],
            "current-context": "simlab",
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f, indent=2)  # JSON is YAML: kubectl and client libraries read it

    # -- network --

    def setup_network(self) -> None:
        """The pod bridge (made here so the host address exists before the first pod), and
        the DNAT that forwards pods' TCP to the bridge address on to 127.0.0.1."""
        if run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
            run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        addrs = run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE]).stdout
        if f" {HOST_ADDRESS}/" not in addrs:
            run(["ip", "addr", "add", f"{HOST_ADDRESS}/{POD_SUBNET.split('/')[1]}", "dev", BRIDGE])
        run(["ip", "link", "set", BRIDGE, "up"])
        # Let packets from the bridge be routed to 127.0.0.1 (after the DNAT below).
        Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet").write_text("1\n")
        rule = [
            "PREROUTING",
            "-i",
            BRIDGE,
            "-s",
            POD_SUBNET,
            "-d",
            HOST_ADDRESS,
            "-p",
            "tcp",
            "-m",
            "comment",
            "--comment",
            IPT_COMMENT,
            "-j",
            "DNAT",
            "--to-destination",
            "127.0.0.1",
        ]
        if run(["iptables", "-t", "nat", "-C", *rule], check=False).returncode != 0:
            run(["iptables", "-t", "nat", "-A", *rule])
        # A ClusterIP that kube-proxy has not programmed yet (a Service just made) is refused
        # at once, rather than routed out of the machine to time out; what kube-proxy DNATs has
        # a pod or host address by the time the filter table sees it.
        unrouted = [
            "FORWARD",
            "-d",
            SERVICE_SUBNET,
            "-m",
            "comment",
            "--comment",
            IPT_COMMENT,
            "-j",
            "REJECT",
        ]
        if run(["iptables", "-C", *unrouted], check=False).returncode != 0:
            run(["iptables", "-I", *unrouted[:1], "1", *unrouted[1:]])
        netd = self.cni_dir / "net.d"
        netd.mkdir(parents=True, exist_ok=True)
        (self.cni_dir / "ipam").mkdir(parents=True, exist_ok=True)
        conf = {
            "cniVersion": "0.4.0",
            "name": "simlab",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    # No default route and no masquerade: pods reach the host (HOST_ADDRESS) and
                    # each other, nothing beyond this machine.
                    "isDefaultGateway": False,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_SUBNET, "gateway": HOST_ADDRESS}]],
                        "routes": [SERVICE_SUBNET_ROUTE],
                        "dataDir": str(self.cni_dir / "ipam"),
                    },
                }
            ],
        }
        (netd / "10-simlab.conflist").write_text(json.dumps(conf, indent=2) + "\n")

    # -- containerd --

    def containerd_config(self) -> Path:
        c = self.ctr_dir
        cfg = f"""# Written by tools/k8s/cluster.py: a containerd of its own for the Simlab
# cluster, apart from any system containerd (own socket, root and state dirs).
version = 2
root = "{c}/root"
state = "{c}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{self.ctr_sock}"

[ttrpc]
  address = "{c}/containerd.sock.ttrpc"

[debug]
  address = "{c}/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{c}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{SANDBOX_IMAGE}"
  enable_selinux = false
  # Pod network namespaces under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  # Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which this machine does not
  # grant (runc fails with "failed to update /proc/self/oom_score_adj: Permission denied"):
  # keep every container's score at or above containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{shutil.which("runc") or "/usr/sbin/runc"}"
        Root = "{c}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{self.cni_dir}/net.d"
    max_conf_num = 1
"""
        self.ctr_dir.mkdir(parents=True, exist_ok=True)
        path = self.ctr_dir / "config.toml"
        path.write_text(cfg)
        return path

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ctr", "-a", str(self.ctr_sock), "-n", "k8s.io", *args], check=check)

    # -- kubelet --

    def kubelet_config(self, port: int, healthz: int) -> Path:
        k = self.kubelet_dir
        k.mkdir(parents=True, exist_ok=True)
        cfg = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": HOST_ADDRESS,
            "port": port,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": healthz,
            "tlsCertFile": str(self.pki / "kubelet.crt"),
            "tlsPrivateKeyFile": str(self.pki / "kubelet.key"),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(self.pki / "ca.crt")},
            },
            "authorization": {"mode": "Webhook"},
            "containerRuntimeEndpoint": f"unix://{self.ctr_sock}",
            "imageServiceEndpoint": f"unix://{self.ctr_sock}",
            "cgroupDriver": "cgroupfs",
            # This machine has hybrid cgroups (v1 controllers) and no swap accounting to rely on.
            "failCgroupV1": False,
            "failSwapOn": False,
            "podLogsDir": str(self.dir / "pod-logs"),
            # Our images cannot be pulled again: never garbage-collect them, and keep disk
            # pressure evictions for a nearly full disk.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "2%",
                "imagefs.available": "2%",
                "nodefs.inodesFree": "2%",
            },
            # No iptables chains of the kubelet's own: cluster-down has only our rule to remove.
            "makeIPTablesUtilChains": False,
            "serializeImagePulls": False,
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
            "registerNode": True,
            "clusterDomain": CLUSTER_DOMAIN,
            "clusterDNS": [DNS_SERVICE_IP],
            "resolvConf": "/etc/resolv.conf",
            "staticPodPath": "",
            "maxPods": 110,
            "nodeStatusUpdateFrequency": "5s",
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
            "shutdownGracePeriod": "0s",
        }
        path = k / "config.json"
        path.write_text(json.dumps(cfg, indent=2) + "\n")
        return path

    # -- up --

    def up(self, timeout: float = 240) -> None:
        t0 = time.monotonic()
        preflight()
        build()
        if self.running():
            log(
                f"already running ({', '.join(self.running())}); "
                "run 'make cluster-down' first to restart it"
            )
            if set(self.running()) != set(PROCESSES):
                raise ClusterError(
                    f"a partial cluster is running ({', '.join(self.running())}): "
                    "run 'make cluster-down'"
                )
            self.wait_ready(timeout)
            self.summary(t0)
            return
        other = self.other_owner()
        if other is not None:
            raise ClusterError(
                f"another Simlab cluster runs on this machine, from {other}: stop it first "
                f"(python3 tools/k8s/cluster.py down --state-dir {other})"
            )
        # Leftovers of a cluster that was not shut down (a crash, a reboot).
        self.down(quiet=True)
        OWNER.parent.mkdir(parents=True, exist_ok=True)
        OWNER.write_text(f"{self.state}\n")
        self.dir.mkdir(parents=True, exist_ok=True)
        # The previous run's logs stay one generation, for a look after a failure.
        if self.logs.is_dir():
            rm_rf(self.logs.with_name("logs.previous"))
            self.logs.rename(self.logs.with_name("logs.previous"))
        try:
            self._start(t0, timeout)
        except BaseException as exc:
            # Nothing half-started stays behind; the logs do.
            self.down(quiet=True)
            if isinstance(exc, ClusterError):
                raise ClusterError(
                    f"{exc}\n(stopped what had started; logs in {self.logs})"
                ) from None
            raise

    def _start(self, t0: float, timeout: float) -> None:
        ports = free_ports(10)
        info = {
            "version": pinned_version(),
            "state_dir": str(self.state),
            "kubeconfig": str(self.kubeconfig),
            "node": NODE_NAME,
            "namespace": NAMESPACE,
            "host_address": HOST_ADDRESS,
            "pod_subnet": POD_SUBNET,
            "service_subnet": SERVICE_SUBNET,
            "containerd_socket": str(self.ctr_sock),
            "etcd_port": ports[0],
            "etcd_peer_port": ports[1],
            "apiserver_port": ports[2],
            "controller_manager_port": ports[3],
            "scheduler_port": ports[4],
            "kubelet_port": ports[5],
            "kubelet_healthz_port": ports[6],
            "kube_proxy_healthz_port": ports[7],
            "kube_proxy_metrics_port": ports[8],
            "dns_port": ports[9],
            "dns_service_ip": DNS_SERVICE_IP,
            "sysctls": {k: read_sysctl(k) for k in KUBELET_SYSCTLS},
        }
        self.info_file.write_text(json.dumps(info, indent=2) + "\n")
        self.make_pki()
        self.setup_network()
        pki = self.pki

        # etcd (Debian's 3.4, TLS with client certificates) and containerd start together.
        etcd_url = f"https://127.0.0.1:{info['etcd_port']}"
        peer_url = f"http://127.0.0.1:{info['etcd_peer_port']}"
        self.start(
            "etcd",
            [
                "--name",
                "simlab",
                "--data-dir",
                str(self.dir / "etcd"),
                "--listen-client-urls",
                etcd_url,
                "--advertise-client-urls",
                etcd_url,
                "--listen-peer-urls",
                peer_url,
                "--initial-advertise-peer-urls",
                peer_url,
                "--initial-cluster",
                f"simlab={peer_url}",
                "--initial-cluster-state",
                "new",
                "--cert-file",
                str(pki / "etcd.crt"),
                "--key-file",
                str(pki / "etcd.key"),
                "--client-cert-auth",
                "--trusted-ca-file",
                str(pki / "ca.crt"),
                "--log-level",
                "warn",
                "--logger",
                "zap",
                "--snapshot-count",
                "10000",
                "--quota-backend-bytes",
                str(2 << 30),
            ],
        )
        config = self.containerd_config()
        self.start("containerd", ["--config", str(config), "--log-level", "warn"])

        def etcd_ok() -> bool:
            ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
            ctx.load_cert_chain(
                str(pki / "apiserver-etcd-client.crt"), str(pki / "apiserver-etcd-client.key")
            )
            with urllib.request.urlopen(f"{etcd_url}/health", context=ctx, timeout=2) as r:
                return json.loads(r.read()).get("health") == "true"

        self.wait("etcd to be healthy", "etcd", etcd_ok, 30)

        port = info["apiserver_port"]
        self.start(
            "kube-apiserver",
            [
                f"--bind-address={HOST_ADDRESS}",
                f"--secure-port={port}",
                f"--advertise-address={HOST_ADDRESS}",
                f"--etcd-servers={etcd_url}",
                f"--etcd-cafile={pki / 'ca.crt'}",
                f"--etcd-certfile={pki / 'apiserver-etcd-client.crt'}",
                f"--etcd-keyfile={pki / 'apiserver-etcd-client.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                # The node's hostname (simlab-node) resolves nowhere: reach it by its IP.
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction,PodSecurity",
                # So that PodSecurity, not this flag, is what refuses privileged pods.
                "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_SUBNET}",
                # The aggregation layer's front proxy (also what other components read as
                # the request-header CA).
                f"--requestheader-client-ca-file={pki / 'ca.crt'}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
                "--profiling=false",
                "--v=1",
            ],
        )
        self.write_kubeconfig(self.kubeconfig, "admin", port)

        def api_ready() -> bool:
            code, body = self.api("GET", "/readyz", port=port, timeout=3)
            if code != 200:
                raise ClusterError(f"/readyz {code}: {body}")
            return True

        self.wait("kube-apiserver to be ready", "kube-apiserver", api_ready, 90)

        # The controllers and the kubelet start together.
        for name, cert in (
            ("controller-manager", "controller-manager"),
            ("scheduler", "scheduler"),
            ("kubelet", "kubelet-client"),
        ):
            self.write_kubeconfig(self.dir / f"{name}.kubeconfig", cert, port)
        kcm = self.dir / "controller-manager.kubeconfig"
        self.start(
            "kube-controller-manager",
            [
                f"--kubeconfig={kcm}",
                f"--authentication-kubeconfig={kcm}",
                f"--authorization-kubeconfig={kcm}",
                "--bind-address=127.0.0.1",
                f"--secure-port={info['controller_manager_port']}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=true",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_SUBNET}",
                "--cluster-name=simlab",
                "--leader-elect=false",
                "--controllers=*",
                "--v=1",
            ],
        )
        sch = self.dir / "scheduler.kubeconfig"
        self.start(
            "kube-scheduler",
            [
                f"--kubeconfig={sch}",
                f"--authentication-kubeconfig={sch}",
                f"--authorization-kubeconfig={sch}",
                "--bind-address=127.0.0.1",
                f"--secure-port={info['scheduler_port']}",
                "--leader-elect=false",
                "--v=1",
            ],
        )

        def containerd_ok() -> bool:
            return self.ctr_sock.is_socket() and self.ctr("version", check=False).returncode == 0

        self.wait("containerd to answer on its socket", "containerd", containerd_ok, 30)
        self.load_images()
        kubelet_config = self.kubelet_config(info["kubelet_port"], info["kubelet_healthz_port"])
        self.start(
            "kubelet",
            [
                f"--config={kubelet_config}",
                f"--kubeconfig={self.dir / 'kubelet.kubeconfig'}",
                f"--root-dir={self.kubelet_dir}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={HOST_ADDRESS}",
                "--v=1",
            ],
        )
        self.ensure_namespace()
        self.start_service_network(info)
        self.wait_ready(timeout)
        self.summary(t0)

    def start_service_network(self, info: dict) -> None:
        """kube-proxy and CoreDNS on the host, and the kube-dns Service in front of CoreDNS."""
        for name, cert in (("kube-proxy", "kube-proxy"), ("coredns", "coredns")):
            self.write_kubeconfig(self.dir / f"{name}.kubeconfig", cert, info["apiserver_port"])
        self.apply_dns_objects(info["dns_port"])
        proxy_config = self.dir / "kube-proxy.json"
        proxy_config.write_text(
            json.dumps(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "clientConnection": {"kubeconfig": str(self.dir / "kube-proxy.kubeconfig")},
                    "hostnameOverride": NODE_NAME,
                    "bindAddress": HOST_ADDRESS,
                    "healthzBindAddress": f"127.0.0.1:{info['kube_proxy_healthz_port']}",
                    "metricsBindAddress": f"127.0.0.1:{info['kube_proxy_metrics_port']}",
                    "mode": "iptables",
                    "clusterCIDR": POD_SUBNET,
                    "nodePortAddresses": [f"{HOST_ADDRESS}/32"],
                    "iptables": {
                        # Pod -> ClusterIP -> pod on the same bridge answers through the host,
                        # and so does a pod reaching its own Service (hairpin).
                        "masqueradeAll": True,
                        "localhostNodePorts": False,
                        "minSyncPeriod": "0s",
                        "syncPeriod": "30s",
                    },
                    # Leave the machine's conntrack settings alone (not ours to change).
                    "conntrack": {
                        "maxPerCore": 0,
                        "min": 0,
                        "tcpEstablishedTimeout": "0s",
                        "tcpCloseWaitTimeout": "0s",
                    },
                },
                indent=2,
            )
            + "\n"
        )
        self.start("kube-proxy", [f"--config={proxy_config}", "--v=1"])
        corefile = self.dir / "Corefile"
        corefile.write_text(
            f""".:{info["dns_port"]} {{
    bind {HOST_ADDRESS}
    errors
    cache 5
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {self.dir / "coredns.kubeconfig"} simlab
        pods insecure
        ttl 5
    }}
}}
"""
        )
        # No forwarding beyond the cluster domain: pods have no route beyond this machine.
        self.start("coredns", ["-conf", str(corefile)])

        def proxy_synced() -> bool:
            url = f"http://127.0.0.1:{info['kube_proxy_healthz_port']}/healthz"
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200

        def dns_answers() -> bool:
            name = f"kubernetes.default.svc.{CLUSTER_DOMAIN}"
            got = dns_query_a((HOST_ADDRESS, info["dns_port"]), name)
            want = SERVICE_SUBNET.rsplit(".", 1)[0] + ".1"
            if got != [want]:
                raise ClusterError(f"{name} resolved to {got}, not [{want}]")
            return True

        self.wait("kube-proxy to program the Services", "kube-proxy", proxy_synced, 60)
        self.wait("CoreDNS to answer", "coredns", dns_answers, 60)

    def apply_dns_objects(self, dns_port: int) -> None:
        """CoreDNS's read access, and the kube-dns Service (DNS_SERVICE_IP:53, what the kubelet
        writes into pods' resolv.conf) whose only endpoint is CoreDNS on the host."""
        objects = [
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
                        {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "User",
                            "name": COREDNS_USER,
                        }
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
                            {
                                "name": "dns-tcp",
                                "protocol": "TCP",
                                "port": 53,
                                "targetPort": dns_port,
                            },
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
        for path, obj in objects:
            code, body = self.api("POST", path, obj)
            if code not in (200, 201):
                what = f"{obj['kind']} {obj['metadata']['name']}"
                raise ClusterError(f"creating {what} failed: {code} {body}")

    def load_images(self) -> None:
        """Builds the pause image if needed and loads every image `make images` built."""
        env = dict(os.environ, STATE_DIR=str(self.state))
        for step in ("pause", "load"):
            p = subprocess.run([str(IMAGES_SH), step], env=env, text=True, stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise ClusterError(
                    f"{IMAGES_SH.relative_to(ROOT)} {step} failed:\n{p.stderr[-3000:]}"
                )

    def ensure_namespace(self) -> None:
        labels = {
            f"pod-security.kubernetes.io/{mode}": "restricted"
            for mode in ("enforce", "audit", "warn")
        }
        labels |= {
            f"pod-security.kubernetes.io/{mode}-version": "latest"
            for mode in ("enforce", "audit", "warn")
        }
        ns = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": labels},
        }
        code, body = self.api("POST", "/api/v1/namespaces", ns)
        if code == 409:
            code, body = self.api("PUT", f"/api/v1/namespaces/{NAMESPACE}", ns)
        if code not in (200, 201):
            raise ClusterError(f"creating namespace {NAMESPACE} failed: {code} {body}")

    def wait_ready(self, timeout: float) -> None:
        def node_ready() -> bool:
            code, node = self.api("GET", f"/api/v1/nodes/{NODE_NAME}", timeout=3)
            if code != 200:
                raise ClusterError(f"node {NODE_NAME} not registered yet ({code})")
            conds = {c["type"]: c for c in node.get("status", {}).get("conditions", [])}
            ready = conds.get("Ready", {})
            if ready.get("status") != "True":
                raise ClusterError(f"node not Ready: {ready.get('reason')}: {ready.get('message')}")
            return True

        def namespace_usable() -> bool:
            # Pods can be created once the default ServiceAccount exists, and start once the
            # root CA ConfigMap (for the projected token volume) does.
            for path in (
                f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default",
                f"/api/v1/namespaces/{NAMESPACE}/configmaps/kube-root-ca.crt",
            ):
                code, _ = self.api("GET", path, timeout=3)
                if code != 200:
                    raise ClusterError(f"{path}: {code}")
            return True

        self.wait(f"node {NODE_NAME} to be Ready", "kubelet", node_ready, timeout)
        self.wait(
            f"namespace {NAMESPACE} to be usable", "kube-controller-manager", namespace_usable, 60
        )

    def summary(self, t0: float) -> None:
        info = self.info()
        log(
            f"cluster ready in {time.monotonic() - t0:.1f} s: Kubernetes {info['version']}, "
            f"node {NODE_NAME}, "
            f"namespace {NAMESPACE} (restricted)"
        )
        print(self.env_text())

    def env_text(self) -> str:
        info = self.info()
        return "\n".join(
            [
                f"export KUBECONFIG={self.kubeconfig}",
                f"export SIMLAB_K8S_HOST_ADDRESS={info.get('host_address', HOST_ADDRESS)}"
                "   # pods reach host services listening on 127.0.0.1 here, same port",
                f"export SIMLAB_K8S_NAMESPACE={NAMESPACE}",
                f"# kubectl: {BIN / 'kubectl'}",
            ]
        )

    def other_owner(self) -> Path | None:
        """The state dir of another cluster that runs on this machine, if any."""
        try:
            owner = Path(OWNER.read_text().strip())
        except OSError:
            return None
        if owner == self.state or not Cluster(owner).running():
            return None
        return owner

    def running(self) -> list[str]:
        return [p for p in PROCESSES if self.pid(p) is not None]

    # -- down --

    def down(self, purge: bool = False, quiet: bool = False) -> None:
        """Stops everything and removes what the cluster put on the host. Safe to repeat."""
        if os.geteuid() != 0:
            raise ClusterError("cluster-down needs root, like cluster-up")
        say = (lambda m: None) if quiet else log
        info = self.info()
        if self.pid("kube-apiserver") and self.pid("kubelet"):
            self.drain(say)
        for name in reversed(PROCESSES):
            if name == "containerd":
                self.remove_containers(say)
            self.stop(name, say)
        self.kill_shims(say)
        self.unmount_all(say)
        # What is shared by the machine is left alone while another cluster runs.
        if self.other_owner() is None:
            self.remove_netns(say)
            self.teardown_network(say)
            self.remove_cgroups(say)
            for key, value in info.get("sysctls", {}).items():
                if value is not None and read_sysctl(key) != value:
                    write_sysctl(key, value)
            # The shims' socket dir (containerd 1.6 puts it there whatever its state dir).
            for d in (Path("/run/containerd/s"), Path("/run/containerd")):
                with contextlib.suppress(OSError):
                    d.rmdir()  # only when empty: a system containerd's stays
            with contextlib.suppress(OSError):
                if OWNER.read_text().strip() == str(self.state):
                    OWNER.unlink()
                OWNER.parent.rmdir()
        # Volatile state goes; the PKI and the image store (containerd/root) stay for the next
        # `up` unless purged.
        for p in (
            self.dir / "etcd",
            self.kubelet_dir,
            self.cni_dir,
            self.ctr_dir / "state",
            self.ctr_dir / "runc",
            self.ctr_dir / "root" / "io.containerd.grpc.v1.cri",
            self.dir / "pod-logs",
            self.pids,
            self.info_file,
        ):
            rm_rf(p)
        if purge:
            rm_rf(self.dir)
        if info:
            say("cluster stopped; no process, mount, bridge or iptables rule of it is left")

    def drain(self, say) -> None:
        """Deletes every pod while the kubelet runs, so it stops them the normal way (CNI DEL)."""
        for name in ("kube-controller-manager", "kube-scheduler"):
            self.stop(name, say)  # nothing recreates what is deleted
        code, pods = self.api("GET", "/api/v1/pods", timeout=5)
        if code != 200:
            return
        for pod in pods.get("items", []):
            md = pod["metadata"]
            self.api(
                "DELETE",
                f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}",
                {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0},
                timeout=5,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            # Job pods keep a finalizer (the job controller is stopped), and etcd's data goes
            # anyway: what matters is that the kubelet has stopped every container and sandbox.
            tasks = self.ctr("tasks", "ls", "-q", check=False).stdout.split()
            if not tasks:
                return
            time.sleep(0.5)

    def stop(self, name: str, say) -> None:
        pid = self.pid(name)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.pid(name) is not None:
            time.sleep(0.1)
        if self.pid(name) is not None:
            say(f"{name} ignored SIGTERM for 15 s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while self.pid(name) is not None:
                time.sleep(0.1)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def remove_containers(self, say) -> None:
        """What the kubelet left running in our containerd: killed and deleted via ctr."""
        if self.pid("containerd") is None:
            return
        for tid in self.ctr("tasks", "ls", "-q", check=False).stdout.split():
            self.ctr("tasks", "kill", "-a", "-s", "SIGKILL", tid, check=False)
        for tid in self.ctr("tasks", "ls", "-q", check=False).stdout.split():
            for _ in range(20):
                if self.ctr("tasks", "delete", "-f", tid, check=False).returncode == 0:
                    break
                time.sleep(0.25)
        for cid in self.ctr("containers", "ls", "-q", check=False).stdout.split():
            self.ctr("containers", "delete", cid, check=False)

    def kill_shims(self, say) -> None:
        """containerd-shim-runc-v2 processes outlive containerd; ours name our socket."""
        needle = str(self.ctr_sock).encode()
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

    def our_mounts(self) -> list[str]:
        out = []
        prefix = str(self.dir) + "/"
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mnt = line.split()[4].replace("\\040", " ")
            if mnt.startswith(prefix):
                out.append(mnt)
        return out

    def unmount_all(self, say) -> None:
        for _ in range(5):
            mounts = self.our_mounts()
            if not mounts:
                return
            for m in sorted(set(mounts), key=len, reverse=True):
                if run(["umount", m], check=False).returncode != 0:
                    run(["umount", "-l", m], check=False)
        left = self.our_mounts()
        if left:
            raise ClusterError(f"could not unmount: {' '.join(left)}")

    def remove_netns(self, say) -> None:
        """Network namespaces of our pods that the kubelet did not get to delete: those whose
        eth0 has an address of our pod subnet (containerd names them cni-<uuid>)."""
        netns_dir = Path("/var/run/netns")
        if not netns_dir.is_dir():
            return
        subnet = ipaddress.ip_network(POD_SUBNET)
        for ns in netns_dir.iterdir():
            p = run(
                ["ip", "netns", "exec", ns.name, "ip", "-4", "-o", "addr", "show", "dev", "eth0"],
                check=False,
            )
            addrs = re.findall(r"inet ([0-9.]+)/", p.stdout) if p.returncode == 0 else []
            if any(ipaddress.ip_address(a) in subnet for a in addrs):
                run(["umount", str(ns)], check=False)
                ns.unlink(missing_ok=True)
                say(f"removed leftover network namespace {ns.name}")

    def teardown_network(self, say) -> None:
        # kube-proxy's chains (KUBE-*) are removed by kube-proxy itself; what is left (the
        # kubelet's KUBE-FIREWALL) goes after it: jumps first, then the chains.
        if (BIN / "kube-proxy").exists():
            run([str(BIN / "kube-proxy"), "--cleanup", "--v=0"], check=False)
        # Then, in every table: each rule with our comment and each jump to a KUBE- chain,
        # then those chains.
        for table in ("filter", "nat", "mangle"):
            dump = run(["iptables-save", "-t", table], check=False).stdout
            for line in dump.splitlines():
                if line.startswith("-A ") and (
                    f"--comment {IPT_COMMENT}" in line or " -j KUBE-" in line
                ):
                    run(["iptables", "-t", table, *split_rule("-D" + line[2:])], check=False)
            for chain in re.findall(r"^:(KUBE-\S+)", dump, re.M):
                run(["iptables", "-t", table, "-F", chain], check=False)
                run(["iptables", "-t", table, "-X", chain], check=False)
        # veths attached to our bridge, then the bridge.
        if run(["ip", "link", "show", BRIDGE], check=False).returncode == 0:
            for line in run(
                ["ip", "-o", "link", "show", "master", BRIDGE], check=False
            ).stdout.splitlines():
                dev = line.split(":")[1].strip().split("@")[0]
                run(["ip", "link", "del", dev], check=False)
            run(["ip", "link", "del", BRIDGE], check=False)

    def remove_cgroups(self, say) -> None:
        """The kubelet's kubepods hierarchy in every cgroup controller, once it is empty."""
        base = Path("/sys/fs/cgroup")
        roots = [base / "unified"] + [
            d for d in base.iterdir() if d.is_dir() and d.name != "unified"
        ]
        for ctrl in roots:
            for name in CGROUP_ROOTS:
                top = ctrl / name
                if not top.is_dir():
                    continue
                dirs = sorted(
                    (d for d, _, _ in os.walk(top)), key=lambda d: d.count("/"), reverse=True
                )
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


def dns_query_a(server: tuple[str, int], name: str, timeout: float = 2) -> list[str]:
    """The A records of NAME as SERVER answers them over UDP (a minimal DNS client)."""
    qid = int.from_bytes(os.urandom(2), "big")
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += question + b"\x00\x01\x00\x01"  # type A, class IN
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, server)
        reply = s.recv(4096)
    if int.from_bytes(reply[:2], "big") != qid:
        raise ClusterError("DNS reply to another query")
    rcode = reply[3] & 0x0F
    if rcode != 0:
        raise ClusterError(f"DNS rcode {rcode} for {name}")
    answers = int.from_bytes(reply[6:8], "big")
    pos = 12 + len(question) + 4
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


def split_rule(line: str) -> list[str]:
    import shlex

    return shlex.split(line)


def read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", *key.split(".")).read_text().strip()
    except OSError:
        return None


def write_sysctl(key: str, value: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/sys", *key.split(".")).write_text(value + "\n")


def rm_rf(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["build", "up", "down", "status", "env"])
    ap.add_argument(
        "--state-dir",
        default=os.environ.get("STATE_DIR", ".simlab"),
        help="state directory (default: $STATE_DIR or .simlab); the cluster lives in <state>/k8s",
    )
    ap.add_argument(
        "--purge", action="store_true", help="down: also delete the PKI and the image store"
    )
    ap.add_argument("--timeout", type=float, default=240, help="up: seconds to wait for the node")
    args = ap.parse_args(argv)
    state = Path(args.state_dir)
    if not state.is_absolute():
        state = ROOT / state
    c = Cluster(state)
    try:
        if args.command == "build":
            build()
        elif args.command == "up":
            c.up(args.timeout)
        elif args.command == "down":
            c.down(purge=args.purge)
        elif args.command == "status":
            up = c.running()
            print(json.dumps({"running": up, **c.info()}, indent=2))
            return 0 if set(up) == set(PROCESSES) else 3
        elif args.command == "env":
            print(c.env_text())
    except ClusterError as exc:
        print(f"k8s: ERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
