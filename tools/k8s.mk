# Targets of the local Kubernetes cluster and the container images (owned by the
# Kubernetes work).
.PHONY: cluster-up cluster-down images
cluster-up:
cluster-down:
images:
