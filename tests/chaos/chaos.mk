# `make chaos`: the chaos suite with 100 jobs on the embedded stack, then once on the local
# Kubernetes cluster (shared: under its lock); `make load`: a 10,000-job burst under the runner's
# worker cap. Both print their tables. Quick versions of both run in `make test` (test-python's
# pytest run collects tests/chaos: 16 jobs, 50 jobs).
.PHONY: chaos chaos-local chaos-k8s load

CHAOS_JOBS ?= 100
LOAD_JOBS ?= 10000
LOAD_MAX_WORKERS ?= 8
# Seconds after which the jobs left are cancelled (empty: process them all).
LOAD_STOP_AFTER ?=

chaos: chaos-local chaos-k8s

chaos-local: venv
	SIMLAB_CHAOS_JOBS=$(CHAOS_JOBS) $(VENV)/bin/pytest -p no:cacheprovider -q tests/chaos/test_chaos.py

# Builds or reuses the cluster and the images like tests/k8s (make cluster-up, make images).
chaos-k8s: venv minio-bin k8s-bin
	flock /tmp/simlab-k8s.lock env SIMLAB_CHAOS_K8S=1 SIMLAB_CHAOS_JOBS=$(CHAOS_JOBS) \
	  $(VENV)/bin/pytest -p no:cacheprovider -q tests/chaos/test_chaos_k8s.py

load: venv
	$(PY) -m bench.load --jobs $(LOAD_JOBS) --max-workers $(LOAD_MAX_WORKERS) \
	  $(if $(LOAD_STOP_AFTER),--stop-after $(LOAD_STOP_AFTER))
