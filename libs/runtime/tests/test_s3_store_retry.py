"""The S3 store when MinIO goes away: bounded retries with backoff, then a clear error; a
server that comes back in time is used again, and a download cut mid-way resumes."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import pytest

from simlab.adapters.objectstore import ObjectStoreUnavailable
from simlab.adapters.s3_store import S3Store
from simlab.devstack.minio_server import MinioServer

MakeS3Store = Callable[..., S3Store]
MiB = 1024 * 1024
# Sleeps of about 0.2, 0.4, 0.8, 1.6, 1.6 s (less with jitter): 4.6 s at most.
FAST = {"max_attempts": 6, "backoff_s": 0.2, "max_backoff_s": 1.6}


def test_a_stopped_store_gives_a_clear_error_after_bounded_retries(
    make_s3_store: MakeS3Store, own_minio: MinioServer
) -> None:
    store = make_s3_store(server=own_minio, **FAST)
    store.put_bytes("jobs/j/summary.json", b"{}")
    own_minio.stop()

    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailable) as failure:
        store.commit_prefix("jobs/j", {"summary.json": b"{}"})
    elapsed = time.monotonic() - started

    message = str(failure.value)
    assert f"127.0.0.1:{own_minio.port}" in message
    assert "failed 6 times" in message
    assert failure.value.code.name == "UNAVAILABLE"
    assert 2.3 <= elapsed < 10  # it waited between attempts, and not forever


def test_a_store_back_during_the_backoff_is_used_again(
    make_s3_store: MakeS3Store, own_minio: MinioServer
) -> None:
    store = make_s3_store(server=own_minio, **FAST)
    own_minio.stop()
    restart = threading.Timer(0.5, own_minio.start)
    restart.start()
    try:
        store.put_bytes("jobs/j/log.txt", b"still here")
    finally:
        restart.join()
    assert b"".join(store.iter_chunks("jobs/j/log.txt")) == b"still here"


def test_a_download_cut_mid_way_resumes_where_it_stopped(
    make_s3_store: MakeS3Store, own_minio: MinioServer
) -> None:
    store = make_s3_store(server=own_minio, **FAST)
    blob = bytes(range(256)) * (64 * MiB // 256)
    store.put_bytes("jobs/j/data.npz", blob)

    digest = hashlib.sha256()
    with store.open("jobs/j/data.npz") as f:
        digest.update(f.read(MiB))
        own_minio.kill()  # drops the connection mid-body, like a crash
        own_minio.start()
        while chunk := f.read(MiB):
            digest.update(chunk)
    assert digest.digest() == hashlib.sha256(blob).digest()
