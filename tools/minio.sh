#!/usr/bin/env bash
# The pinned MinIO server: `minio.sh build` installs it into .tools/bin (once per version),
# `minio.sh serve` runs it in the foreground for `make minio`. MINIO_VERSION comes from
# tools/minio.mk, the one place it is pinned.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin/minio"
: "${MINIO_VERSION:?set by tools/minio.mk}"

build() {
  "$ROOT/tools/go-tool.sh" minio github.com/minio/minio "$MINIO_VERSION"
}

free_port() {
  "${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

serve() {
  build
  local state="${STATE_DIR:-$ROOT/.simlab}" port="${SIMLAB_MINIO_PORT:-$(free_port)}"
  local creds="$state/minio.env"
  mkdir -p "$state/minio"
  # Generated once and kept, so the printed variables stay valid across restarts.
  if [[ ! -f $creds ]]; then
    (umask 077 && printf 'MINIO_ROOT_USER=simlab\nMINIO_ROOT_PASSWORD=%s\n' \
      "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$creds")
  fi
  set -a && source "$creds" && set +a
  cat <<VARS
MinIO $MINIO_VERSION on http://127.0.0.1:$port, data in $state/minio. To use it, set:
  export SIMLAB_S3_ENDPOINT=http://127.0.0.1:$port
  export SIMLAB_S3_ACCESS_KEY=$MINIO_ROOT_USER
  export SIMLAB_S3_SECRET_KEY=$MINIO_ROOT_PASSWORD
  export SIMLAB_S3_BUCKET=simlab
Ctrl-C stops it.
VARS
  MINIO_BROWSER=off exec "$BIN" server --quiet --address "127.0.0.1:$port" \
    --certs-dir "$state/minio-certs" "$state/minio"
}

case "${1:-}" in
  build) build ;;
  serve) serve ;;
  *) echo "usage: $0 build|serve" >&2; exit 2 ;;
esac
