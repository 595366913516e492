# Targets of the pinned MinIO server (owned by the object-store work).
.PHONY: minio-bin minio
minio-bin:
minio:
