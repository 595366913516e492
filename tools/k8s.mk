# Targets of the local Kubernetes cluster and the container images (owned by the
# Kubernetes work). The Kubernetes version is pinned in one place: tools/k8s/gomod/go.mod
# (regenerate it with tools/k8s/gomod/update.sh vX.Y.Z).
#
#   make k8s-bin       build kube-apiserver, -controller-manager, -scheduler, kubelet, kubectl
#                      into .tools/k8s/bin (once; 10-30 min on 2 cores, cached afterwards)
#   make cluster-up    a single-node cluster on this machine (needs root), state in
#                      $(STATE_DIR)/k8s, admin kubeconfig $(STATE_DIR)/k8s/admin.kubeconfig
#   make cluster-down  stop it and remove every process, mount, bridge and iptables rule of it
#   make cluster-status / cluster-env   what runs / the variables a client needs
#   make images        build the pause, worker and service images and the chart's PostgreSQL,
#                      NATS and MinIO images with buildah (deploy/images/build.sh) and load
#                      them into the cluster's containerd when it runs
#   make images-save   the images as docker-archives in build/images/ (for kind/minikube)
#   make test-k8s      the cluster smoke tests (bring the cluster up and down themselves
#                      unless `make cluster-up` already started it)
K8S_PY := python3 tools/k8s/cluster.py --state-dir $(STATE_DIR)

.PHONY: images-save k8s-bin cluster-up cluster-down cluster-purge cluster-status cluster-env images test-k8s
k8s-bin:
	@$(K8S_PY) build

cluster-up:
	@$(K8S_PY) up

cluster-down:
	@$(K8S_PY) down

# Also forgets the cluster's CA and loaded images.
cluster-purge:
	@$(K8S_PY) down --purge

cluster-status:
	@$(K8S_PY) status

cluster-env:
	@$(K8S_PY) env

# The images hold the built web UI (service), the venv's pinned nats-server and the pinned
# MinIO binary, so those come first.
images: web-build venv minio-bin
	@STATE_DIR=$(STATE_DIR) VENV=$(VENV) deploy/images/build.sh all

# The images as docker-archives under build/images/ (tagged :dev), to load into kind or
# minikube: see deploy/helm/README.md.
images-save: images
	@deploy/images/build.sh save

test-k8s: venv
	$(VENV)/bin/pytest tests/k8s
