# Simlab. `make run` starts the platform with embedded defaults; `make test` runs every check.
# Both install what they need first (a .venv here, npm packages in web/, pinned Go-built tools
# in .tools/, Debian packages when root) and say what is missing when they cannot.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STATE_DIR ?= .simlab
export SIMLAB_PORT ?= 8080

.PHONY: help venv generate check-generated buf-lint buf-breaking lint typecheck test test-python run bench bench-quick bench-k8s clean fuzz fuzz-quick

help:
	@echo "make run     start the platform (embedded PostgreSQL, NATS, local workers) on 127.0.0.1:$(SIMLAB_PORT)"
	@echo "make test    lint, type-check, check generated code, run every test"
	@echo "make bench   throughput, latency and worker-speed benchmarks: one table, test-output/bench.json"
	@echo "make bench-quick  the same with small sizes (part of make test)"
	@echo "make fuzz    12,000 hostile requests over every API protocol; prints the codes seen"
	@echo "make chaos   kill -9 every part in turn under 100 jobs (embedded stack, then Kubernetes)"
	@echo "make load    a 10,000-job burst under the runner's worker cap"
	@echo "make generate  regenerate code from protos/"

# Each part of the tree owns its own targets.
include web/web.mk
include tools/minio.mk
include tools/ghz.mk
include tools/k8s.mk
include deploy/helm/helm.mk
include tests/chaos/chaos.mk

# ---- set-up ------------------------------------------------------------------------------

# uv (from PyPI, into the venv) installs the workspace: every member editable, the dev group,
# exactly the versions of uv.lock (--locked: a lock that no longer matches the pyproject files
# is an error, not silently re-resolved). The uv version is also pinned in the dev group.
UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv
$(VENV)/.installed: pyproject.toml uv.lock $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(UV) sync --quiet --locked --all-packages --no-python-downloads
	touch $@

venv: $(VENV)/.installed

# ---- code generation ---------------------------------------------------------------------

generate: venv web-install
	VENV=$(VENV) tools/generate.sh

# CI fails when the checked-in generated code differs from what protos/ gives.
GENERATED := libs/client/src/simlab/v1 libs/runtime/src/simlab/jobstore libs/platform/src/simlab/health \
  web/src/gen
check-generated: generate
	@git diff --exit-code --stat -- $(GENERATED) \
	  || { echo "generated code is stale: run 'make generate' and commit the result"; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" \
	  || { echo "generated files are not committed: run 'make generate' and commit them"; exit 1; }

# ---- proto rules (buf.yaml; protos/README.md says why) -------------------------------------

BUF := $(WEB)/node_modules/.bin/buf

buf-lint: $(WEB_STAMP)
	$(BUF) lint

# protos/ against a baseline commit's protos/: by default where this branch left main (git
# merge-base HEAD main, or origin/main in a clone without a local main). On main itself that
# is HEAD, so there it passes: main is the baseline branches are checked against.
# BUF_BREAKING_AGAINST=<commit> compares with that commit instead; BUF_BREAKING_AGAINST=none
# skips the check, only for a reviewed, intended break (say so in the commit).
BUF_BREAKING_AGAINST ?=
buf-breaking: $(WEB_STAMP)
	@against='$(BUF_BREAKING_AGAINST)'; \
	if [ "$$against" = none ]; then echo "buf-breaking: skipped (BUF_BREAKING_AGAINST=none)"; exit 0; fi; \
	if [ -z "$$against" ]; then \
	  main=$$(git rev-parse -q --verify main || git rev-parse -q --verify origin/main) \
	    || { echo "buf-breaking: no main branch; set BUF_BREAKING_AGAINST=<commit>"; exit 1; }; \
	  against=$$(git merge-base HEAD "$$main"); \
	fi; \
	base=$$(mktemp -d); trap 'rm -rf "$$base"' EXIT; \
	git archive "$$against" protos | tar -x -C "$$base"; \
	echo "buf breaking: protos/ against $$(git rev-parse --short "$$against")"; \
	$(BUF) breaking --against "$$base/protos"

# ---- checks ------------------------------------------------------------------------------

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy libs/*/src services/*/src deploy/helm tools/k8s/localcluster bench
	$(VENV)/bin/mypy services/jobstore/tests services/worker/tests

test-python: venv minio-bin k8s-bin images helm-bin
	$(VENV)/bin/pytest

# The fuzz suite (tests/fuzz) against the embedded stack. A quick run of it (1,000 requests,
# SIMLAB_FUZZ_REQUESTS's default) is part of test-python's pytest run; `make fuzz` is the long
# one. Both print the table protocol x RPC -> requests, codes, and the gateway's RSS.
FUZZ_REQUESTS ?= 12000
fuzz: venv
	SIMLAB_FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(VENV)/bin/pytest -p no:cacheprovider tests/fuzz

fuzz-quick: venv
	SIMLAB_FUZZ_REQUESTS=1000 $(VENV)/bin/pytest -p no:cacheprovider tests/fuzz

test: check-generated buf-lint buf-breaking lint typecheck helm-lint web-check web-test test-python bench-quick web-e2e

# ---- running -----------------------------------------------------------------------------

run: venv web-build-if-node
	$(PY) -m simlab.devstack --state-dir $(STATE_DIR) --port $(SIMLAB_PORT)

# `make bench` prints one table (each path, its number, the ceiling measured in the same run, the
# ratio, the target) and writes test-output/bench.json; `make bench-quick` is the same with
# small sizes (a smoke run `make test` includes so that the benchmarks never rot: its numbers
# are reported, not asserted) into test-output/bench-quick.json.
bench: venv minio-bin ghz-bin
	$(PY) -m bench

bench-quick: venv minio-bin ghz-bin
	$(PY) -m bench --quick

# Needs `make cluster-up`, `make images` and the SIMLAB_S3_* variables of `make minio`.
bench-k8s: venv
	$(PY) -m bench.k8s

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
