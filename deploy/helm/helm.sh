#!/usr/bin/env bash
# Helm work for deploy/helm/helm.mk:
#   helm.sh build     install helm $HELM_VERSION into .tools/bin with `go install` (once per version)
#   helm.sh lint      helm lint --strict + helm template + check_rendered.py for every values file
#   helm.sh validate  server-side dry run of every rendering against the local cluster
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TOOLS="$ROOT/.tools"
CHART="deploy/helm/simlab"

build() {
  : "${HELM_VERSION:?set by deploy/helm/helm.mk}"
  local bin="$TOOLS/bin/helm" stamp="$TOOLS/bin/helm.version"
  if [[ -x $bin && -f $stamp && $(<"$stamp") == "$HELM_VERSION" ]]; then
    return 0
  fi
  if ! command -v go >/dev/null; then
    echo "helm: 'go' is not on PATH; install Go 1.25 or newer (https://go.dev/dl/) and run 'make helm-bin' again" >&2
    exit 1
  fi
  echo "helm: building helm.sh/helm/v4/cmd/helm@$HELM_VERSION into .tools/bin (a few minutes the first time)"
  rm -f "$stamp"
  local start=$SECONDS
  # The version is stamped as the release builds do (the source alone says "v4.3").
  # Everything Go downloads or caches stays under .tools/; -modcacherw keeps the module cache
  # deletable with a plain rm -rf. nice: the build yields to whatever else runs here.
  GOBIN="$TOOLS/bin" GOPATH="$TOOLS/go" GOCACHE="$TOOLS/go-build" GOTOOLCHAIN=local \
    CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -modcacherw -trimpath" \
    nice -n 10 go install -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  echo "$HELM_VERSION" >"$stamp"
  echo "helm: $("$bin" version --short) built in $((SECONDS - start))s"
}

# ci/default-values.yaml stands for the chart's defaults.
values_files() {
  ls "$CHART"/ci/*-values.yaml
}

lint() {
  : "${HELM:?}" "${PY:?}" "${OUT:?}"
  mkdir -p "$OUT"
  local failed=0 f name args
  while IFS= read -r f; do
    if [[ -z $f ]]; then name=defaults; args=(); else name=$(basename "$f" -values.yaml); args=(-f "$f"); fi
    echo "== $name${f:+ ($f)}"
    if ! "$HELM" lint --strict "$CHART" "${args[@]}" --namespace "$NAMESPACE" >"$OUT/lint-$name.log" 2>&1; then
      cat "$OUT/lint-$name.log"; failed=1; continue
    fi
    grep -E '^(==>|\[)|chart\(s\) linted' "$OUT/lint-$name.log" | sed 's/^/   lint: /'
    if ! "$HELM" template "$RELEASE" "$CHART" "${args[@]}" --namespace "$NAMESPACE" \
        >"$OUT/$name.yaml" 2>"$OUT/template-$name.log"; then
      cat "$OUT/template-$name.log"; failed=1; continue
    fi
    if ! "$PY" deploy/helm/check_rendered.py "$OUT/$name.yaml" ${f:+--values "$f"}; then
      failed=1
    fi
  done < <(values_files)
  if ((failed)); then echo "helm-lint: FAILED" >&2; exit 1; fi
  echo "helm-lint: OK (renderings in $OUT/)"
}

validate() {
  : "${HELM:?}" "${OUT:?}"
  local state="${STATE_DIR:-.simlab}"
  local kubeconfig="${KUBECONFIG:-$state/k8s/admin.kubeconfig}"
  local kubectl="${KUBECTL:-$TOOLS/k8s/bin/kubectl}"
  if [[ ! -f $kubeconfig ]]; then
    echo "helm-validate: no cluster ($kubeconfig missing); run 'make cluster-up' first" >&2
    exit 1
  fi
  if [[ ! -x $kubectl ]]; then kubectl=$(command -v kubectl) || {
    echo "helm-validate: no kubectl ($TOOLS/k8s/bin/kubectl missing: 'make k8s-bin')" >&2; exit 1; }
  fi
  export KUBECONFIG="$kubeconfig"
  mkdir -p "$OUT"
  # Namespaced objects are only validated in a namespace that exists: the release namespace
  # is created (empty) when missing; the simulation namespace is in the rendering itself.
  "$kubectl" get namespace "$NAMESPACE" >/dev/null 2>&1 || "$kubectl" create namespace "$NAMESPACE"
  local f name args failed=0
  while IFS= read -r f; do
    name=$(basename "$f" -values.yaml); args=(-f "$f")
    echo "== $name"
    # 1. helm's own server dry run: lookups against the cluster, objects checked against the
    #    server's OpenAPI schemas, nothing persisted.
    if ! "$HELM" install "$RELEASE" "$CHART" "${args[@]}" --namespace "$NAMESPACE" \
        --dry-run=server >"$OUT/validate-$name.yaml" 2>"$OUT/validate-$name.log"; then
      cat "$OUT/validate-$name.log"; failed=1; continue
    fi
    # 2. Every object through the API server's admission (Pod Security, RBAC escalation
    #    checks, defaulting, validation) with dryRun=All. The helm test Pod is included.
    if ! "$HELM" template "$RELEASE" "$CHART" "${args[@]}" --namespace "$NAMESPACE" \
        | "$kubectl" apply --dry-run=server -f - \
          >"$OUT/validate-$name-apply.log" 2>&1; then
      cat "$OUT/validate-$name-apply.log"; failed=1; continue
    fi
    grep -i warning "$OUT/validate-$name-apply.log" || true
    echo "   $(grep -c 'server dry run' "$OUT/validate-$name-apply.log") objects accepted (server dry run)"
  done < <(values_files)
  if ((failed)); then echo "helm-validate: FAILED" >&2; exit 1; fi
  echo "helm-validate: OK"
}

case "${1:-}" in
  build) build ;;
  lint) lint ;;
  validate) validate ;;
  *) echo "usage: $0 build|lint|validate" >&2; exit 2 ;;
esac
