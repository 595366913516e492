"""A real MinIO server for the object-store tests: one per session on a free loopback port, its
data in a temp dir, stopped after. The binary comes from `make minio-bin`, built here when
missing (never skipped)."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simlab.adapters.local_store import LocalDirectoryStore
from simlab.adapters.objectstore import ObjectStore
from simlab.adapters.s3_store import S3Config, S3Store
from simlab.devstack.minio_server import MinioServer, minio_binary, start_minio

MakeS3Store = Callable[..., S3Store]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Build before the first test starts, so a first build's minutes count against no test's
    # timeout. A failed build is reported by the minio_bin fixture, in each test that needs it.
    if any("minio_bin" in getattr(item, "fixturenames", ()) for item in items):
        with contextlib.suppress(subprocess.CalledProcessError):
            minio_binary(config.rootpath)


@pytest.fixture(scope="session")
def minio_bin(pytestconfig: pytest.Config) -> Path:
    return minio_binary(pytestconfig.rootpath)


@pytest.fixture(scope="session")
def minio_server(
    minio_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MinioServer]:
    server = start_minio(minio_bin, tmp_path_factory.mktemp("minio") / "data")
    yield server
    server.stop()


@pytest.fixture
def own_minio(minio_bin: Path, tmp_path: Path) -> Iterator[MinioServer]:
    """A server of the test's own, for tests that stop and restart it."""
    server = start_minio(minio_bin, tmp_path / "minio")
    yield server
    server.stop()


def _s3_config(server: MinioServer, bucket: str | None, **overrides: Any) -> S3Config:
    return S3Config(
        endpoint=f"127.0.0.1:{server.port}",
        secure=False,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket or f"t-{uuid.uuid4().hex[:16]}",
        **overrides,
    )


@pytest.fixture
def make_s3_store(minio_server: MinioServer) -> MakeS3Store:
    """make_s3_store(bucket=None, server=None, **S3Config fields): a store on the session's
    server (or `server`), in a fresh bucket unless one is named."""

    def make(
        bucket: str | None = None, server: MinioServer | None = None, **overrides: Any
    ) -> S3Store:
        return S3Store(_s3_config(server or minio_server, bucket, **overrides))

    return make


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, minio_bin: Path) -> ObjectStore:
    """Each adapter in turn, so one suite checks that both behave the same."""
    if request.param == "local":
        return LocalDirectoryStore(tmp_path / "objects")
    make: MakeS3Store = request.getfixturevalue("make_s3_store")
    return make()
