#!/usr/bin/env bash
# `go-tool.sh NAME PACKAGE VERSION`: installs the Go command PACKAGE@VERSION as .tools/bin/NAME,
# once per version (a stamp beside the binary records which). MinIO and ghz are built with it;
# each pins its version in its own .mk file.
set -euo pipefail

NAME=${1:?binary name} PACKAGE=${2:?Go package} VERSION=${3:?version}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin/$NAME"
STAMP="$TOOLS/bin/$NAME.version"

if [[ -x $BIN && -f $STAMP && $(<"$STAMP") == "$VERSION" ]]; then
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "$NAME: 'go' is not on PATH; install Go 1.24 or newer (https://go.dev/dl/) and run make again" >&2
  exit 1
fi
echo "$NAME: building $PACKAGE@$VERSION into .tools/bin (minutes the first time)"
# Everything Go downloads or caches stays under .tools/, so a clean clone caches in place;
# -modcacherw keeps the module cache deletable with a plain rm -rf.
rm -f "$STAMP"
GOBIN="$TOOLS/bin" GOPATH="$TOOLS/go" GOCACHE="$TOOLS/go-build" GOTOOLCHAIN=local \
  CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -modcacherw -trimpath" \
  go install "$PACKAGE@$VERSION"
echo "$VERSION" >"$STAMP"
