"""The pinned Kubernetes components and CoreDNS, built once into .tools/k8s/bin; stamps record
which version and sources they were built from."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from .constants import BIN, COMPONENTS, COREDNS_MOD, GOMOD, ROOT, TOOLS
from .host import ClusterError, log


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


def version_ldflags(version: str) -> str:
    """The linker flags that give the binaries their version (what `kubectl version` says)."""
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
    return "-s -w " + " ".join(x)


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
    ldflags = version_ldflags(version)
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
