"""The object-store interface, checked on both adapters (a local directory and a real MinIO),
then what only the S3 store has: bucket creation, presigned URLs, a private bucket, multipart."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from minio import Minio
from minio.error import S3Error

from simlab.adapters.local_store import LocalDirectoryStore
from simlab.adapters.objectstore import MANIFEST, STAGING, ManifestStore, ObjectInfo, ObjectStore
from simlab.adapters.s3_store import S3Store
from simlab.devstack.minio_server import MinioServer

MakeS3Store = Callable[..., S3Store]
MiB = 1024 * 1024


def _read(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as f:
        return f.read()


def _raw_keys(store: ObjectStore, prefix: str) -> list[str]:
    """What is stored, staging and manifests included, to check what readers are spared."""
    assert isinstance(store, ManifestStore)
    return sorted(o.key for o in store._list_raw(prefix))


# ---- the interface, on both adapters --------------------------------------------------------


def test_put_open_iter_list_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "data.csv"
    src.write_bytes(b"x,y\n" * 50_000)
    store.put_bytes("jobs/j1/summary.json", b'{"mean": 1.5}')
    store.put_file("jobs/j1/data.csv", src)

    assert _read(store, "jobs/j1/summary.json") == b'{"mean": 1.5}'
    assert b"".join(store.iter_chunks("jobs/j1/data.csv", 1000)) == src.read_bytes()
    assert store.list("jobs/j1") == [
        ObjectInfo("jobs/j1/data.csv", 200_000),
        ObjectInfo("jobs/j1/summary.json", 13),
    ]
    assert store.list("jobs/j1/") == store.list("jobs/j1")


def test_overwrite_replaces_the_object(store: ObjectStore) -> None:
    store.put_bytes("jobs/j1/log.txt", b"first")
    store.put_bytes("jobs/j1/log.txt", b"second, longer")
    assert _read(store, "jobs/j1/log.txt") == b"second, longer"


def test_list_is_scoped_to_a_directory_or_one_key(store: ObjectStore) -> None:
    store.put_bytes("jobs/ab/x", b"1")
    store.put_bytes("jobs/abc/y", b"22")
    assert [o.key for o in store.list("jobs/ab")] == ["jobs/ab/x"]
    assert store.list("jobs/abc/y") == [ObjectInfo("jobs/abc/y", 2)]
    assert [o.key for o in store.list("")] == ["jobs/ab/x", "jobs/abc/y"]
    assert store.list("nothing/here") == []


def test_missing_objects_raise_key_error(store: ObjectStore) -> None:
    with pytest.raises(KeyError):
        store.open("jobs/none/summary.json")
    with pytest.raises(KeyError):
        store.iter_chunks("jobs/none/summary.json")
    with pytest.raises(KeyError):
        store.presigned_url("jobs/none/summary.json")


def test_commit_publishes_the_set_through_its_manifest(store: ObjectStore, tmp_path: Path) -> None:
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"\x89PNG" + bytes(5000))
    manifest = store.commit_prefix(
        "jobs/j2", {"summary.json": b"{}", "plot.png": plot, "charts/mean.json": b"[1, 2]"}
    )

    assert store.list("jobs/j2") == [
        ObjectInfo("jobs/j2/charts/mean.json", 6),
        ObjectInfo("jobs/j2/plot.png", 5004),
        ObjectInfo("jobs/j2/summary.json", 2),
    ]
    assert store.list("jobs/j2/charts") == [ObjectInfo("jobs/j2/charts/mean.json", 6)]
    assert store.list("jobs/j2/plot.png") == [ObjectInfo("jobs/j2/plot.png", 5004)]
    assert _read(store, "jobs/j2/plot.png") == plot.read_bytes()
    assert b"".join(store.iter_chunks("jobs/j2/charts/mean.json")) == b"[1, 2]"

    assert store.read_manifest("jobs/j2") == manifest
    stored = json.loads(_read(store, f"jobs/j2/{MANIFEST}"))
    assert {f["name"]: f["sha256"] for f in stored["files"]} == {
        "summary.json": hashlib.sha256(b"{}").hexdigest(),
        "plot.png": hashlib.sha256(plot.read_bytes()).hexdigest(),
        "charts/mean.json": hashlib.sha256(b"[1, 2]").hexdigest(),
    }
    assert all(
        k == f"jobs/j2/{MANIFEST}" or k.startswith(f"jobs/j2/{STAGING}")
        for k in _raw_keys(store, "jobs/j2")
    )


def test_a_reader_never_sees_a_partial_commit(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_before_manifest: list[list[ObjectInfo]] = []
    put_bytes = store.put_bytes

    def put_then_look(key: str, data: bytes) -> None:
        if key.endswith(MANIFEST):
            # Every file is stored by now; only the manifest is missing.
            assert len(_raw_keys(store, "jobs/j3")) == 2
            seen_before_manifest.append(store.list("jobs/j3"))
            with pytest.raises(KeyError):
                store.open("jobs/j3/summary.json")
        put_bytes(key, data)

    monkeypatch.setattr(store, "put_bytes", put_then_look)
    store.commit_prefix("jobs/j3", {"summary.json": b"{}", "data.csv": b"a\n1\n"})

    assert seen_before_manifest == [[]]
    assert [o.key for o in store.list("jobs/j3")] == ["jobs/j3/data.csv", "jobs/j3/summary.json"]


def test_a_failed_commit_leaves_nothing_behind(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.commit_prefix("jobs/j4", {"summary.json": b"{}", "data.csv": tmp_path / "gone"})
    assert store.list("jobs/j4") == []
    assert _raw_keys(store, "jobs/j4") == []


def test_recommit_swaps_the_whole_set(store: ObjectStore) -> None:
    store.commit_prefix("jobs/j5", {"summary.json": b"old", "old.csv": b"1"})
    store.commit_prefix("jobs/j5", {"summary.json": b"new!"})

    assert store.list("jobs/j5") == [ObjectInfo("jobs/j5/summary.json", 4)]
    assert _read(store, "jobs/j5/summary.json") == b"new!"
    with pytest.raises(KeyError):
        store.open("jobs/j5/old.csv")
    # The previous staging directory is gone: one manifest, one staged file.
    assert len(_raw_keys(store, "jobs/j5")) == 2


def test_plain_objects_live_beside_a_committed_set(store: ObjectStore) -> None:
    store.put_bytes("jobs/j6/logs/shard-0.log", b"started\n")
    store.put_bytes("jobs/j6/summary.json", b"plain")
    store.commit_prefix("jobs/j6", {"summary.json": b"committed"})

    assert [o.key for o in store.list("jobs/j6")] == [
        "jobs/j6/logs/shard-0.log",
        "jobs/j6/summary.json",
    ]
    assert _read(store, "jobs/j6/summary.json") == b"committed"  # the committed name wins
    assert _read(store, "jobs/j6/logs/shard-0.log") == b"started\n"


@pytest.mark.parametrize(
    "name", ["", "a//b", "../x", "./x", MANIFEST, f"{STAGING}1/x", "sub/../../x"]
)
def test_commit_refuses_names_that_would_escape_or_collide(store: ObjectStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.commit_prefix("jobs/j7", {name: b"x"})
    assert _raw_keys(store, "jobs/j7") == []


def test_a_foreign_manifest_is_reported_not_guessed_at(store: ObjectStore) -> None:
    store.put_bytes(f"jobs/j8/{MANIFEST}", b"not json")
    with pytest.raises(ValueError, match=r"jobs/j8/manifest\.json is not a result manifest"):
        store.list("jobs/j8")


def test_local_store_has_no_presigned_urls(tmp_path: Path) -> None:
    local = LocalDirectoryStore(tmp_path)
    local.put_bytes("jobs/j/summary.json", b"{}")
    assert local.presigned_url("jobs/j/summary.json") is None


# ---- the S3 store only ----------------------------------------------------------------------


def _admin(server: MinioServer) -> Minio:
    return Minio(
        f"127.0.0.1:{server.port}",
        access_key=server.access_key,
        secret_key=server.secret_key,
        secure=False,
    )


def _http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_bucket_is_created_private_when_missing(
    make_s3_store: MakeS3Store, minio_server: MinioServer
) -> None:
    admin = _admin(minio_server)
    assert not admin.bucket_exists("fresh-bucket")
    store = make_s3_store("fresh-bucket")
    assert admin.bucket_exists("fresh-bucket")
    make_s3_store("fresh-bucket")  # a second service finds it there

    with pytest.raises(S3Error) as policy:
        admin.get_bucket_policy("fresh-bucket")
    assert policy.value.code == "NoSuchBucketPolicy"
    store.put_bytes("jobs/j/summary.json", b"{}")
    # Neither the object nor the listing is open to anyone without credentials.
    assert _http_get(f"{minio_server.url}/fresh-bucket/jobs/j/summary.json")[0] == 403
    assert _http_get(f"{minio_server.url}/fresh-bucket/")[0] == 403


def test_presigned_url_downloads_until_it_expires(make_s3_store: MakeS3Store) -> None:
    store = make_s3_store()
    store.commit_prefix("jobs/j", {"plot.png": b"png bytes"})

    url = store.presigned_url("jobs/j/plot.png", expires_s=2)
    assert url is not None and "X-Amz-Expires=2" in url
    assert _http_get(url) == (200, b"png bytes")
    time.sleep(3)
    status, body = _http_get(url)
    assert status == 403 and b"expired" in body


def test_presigned_url_expiry_is_short_and_configurable(make_s3_store: MakeS3Store) -> None:
    store = make_s3_store(presign_expires_s=600)
    store.put_bytes("jobs/j/data.csv", b"1\n")
    assert "X-Amz-Expires=600" in str(store.presigned_url("jobs/j/data.csv"))
    with pytest.raises(ValueError):
        store.presigned_url("jobs/j/data.csv", expires_s=7 * 24 * 3600)


def test_presigned_url_names_the_public_endpoint(
    make_s3_store: MakeS3Store, minio_server: MinioServer
) -> None:
    store = make_s3_store(public_endpoint=f"localhost:{minio_server.port}", public_secure=False)
    store.put_bytes("jobs/j/data.csv", b"1\n")
    url = str(store.presigned_url("jobs/j/data.csv"))
    assert url.startswith(f"http://localhost:{minio_server.port}/")
    assert _http_get(url) == (200, b"1\n")


def test_large_files_go_in_parts_above_the_threshold(
    make_s3_store: MakeS3Store, minio_server: MinioServer, tmp_path: Path
) -> None:
    store = make_s3_store(multipart_threshold=8 * MiB, part_size=5 * MiB)
    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(bytes(8 * MiB))
    big.write_bytes(bytes(range(256)) * (12 * MiB // 256))
    store.put_file("jobs/j/small", small)
    store.put_file("jobs/j/big", big)

    admin = _admin(minio_server)
    # An S3 ETag ends in -<parts> exactly when the object was uploaded in parts.
    assert "-" not in str(admin.stat_object(store.bucket, "jobs/j/small").etag)
    assert str(admin.stat_object(store.bucket, "jobs/j/big").etag).endswith("-3")
    assert hashlib.sha256(_read(store, "jobs/j/big")).digest() == (
        hashlib.sha256(big.read_bytes()).digest()
    )
