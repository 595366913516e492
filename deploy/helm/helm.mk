# Targets of the Helm chart deploy/helm/simlab (owned by the Helm work).
#
#   make helm-bin       build the pinned helm into .tools/bin (once per version)
#   make helm-lint      helm lint --strict, helm template for every ci/*-values.yaml, and a
#                       check of the rendered objects (valid YAML, expected kinds, pod security)
#   make helm-validate  server-side dry run of every rendering against the running local
#                       cluster (start it first with `make cluster-up`): `helm install
#                       --dry-run=server` and `kubectl apply --dry-run=server` (admission,
#                       Pod Security); creates the release namespace when missing, nothing else
#   make helm-package   the chart as a .tgz under build/helm
#
# helm is pinned here, the one place: HELM_VERSION.
HELM_VERSION := v4.3.1
HELM_DIR := deploy/helm
HELM_CHART := $(HELM_DIR)/simlab
HELM := .tools/bin/helm
HELM_OUT := build/helm
HELM_RELEASE ?= simlab
HELM_NAMESPACE ?= simlab

.PHONY: helm-bin helm-lint helm-validate helm-package
helm-bin:
	@HELM_VERSION=$(HELM_VERSION) $(HELM_DIR)/helm.sh build

# Lint with the defaults and with every CI values file, render each, check the renderings.
helm-lint: helm-bin venv
	@HELM=$(HELM) PY=$(PY) OUT=$(HELM_OUT) RELEASE=$(HELM_RELEASE) NAMESPACE=$(HELM_NAMESPACE) \
	  $(HELM_DIR)/helm.sh lint

# Server-side dry run (admission, schema and RBAC checks of the real API server) of every
# CI rendering. Needs the local cluster: `make cluster-up` first. Runs in a namespace of its
# own (created when missing, nothing else is), so an installed release is never compared with.
helm-validate: helm-bin
	@HELM=$(HELM) OUT=$(HELM_OUT) RELEASE=$(HELM_RELEASE) NAMESPACE=$(HELM_NAMESPACE)-validate \
	  STATE_DIR=$(STATE_DIR) $(HELM_DIR)/helm.sh validate

helm-package: helm-bin
	@mkdir -p $(HELM_OUT) && $(HELM) package $(HELM_CHART) --destination $(HELM_OUT)
