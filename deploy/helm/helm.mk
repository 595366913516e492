# Targets of the Helm chart (owned by the Helm work).
.PHONY: helm-bin helm-lint
helm-bin:
helm-lint:
