# The pinned MinIO server, built from source with `go install` into .tools/bin.
# The proxy serves MinIO only as pseudo-versions (its RELEASE.* tags are not semver): this is
# the newest commit it lists.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c

.PHONY: minio-bin minio
# Builds once per version; a stamp beside the binary records which.
minio-bin:
	@MINIO_VERSION=$(MINIO_VERSION) tools/minio.sh build

# Foreground MinIO on 127.0.0.1 (SIMLAB_MINIO_PORT or a free port), data under $(STATE_DIR)/minio.
minio:
	@MINIO_VERSION=$(MINIO_VERSION) STATE_DIR=$(STATE_DIR) PYTHON=$(PYTHON) tools/minio.sh serve
