"""A real MinIO server for the object-store tests: one per session on a free loopback port, its
data in a temp dir, stopped after. The binary comes from `make minio-bin`, built here when
missing (never skipped). And `user_code`: users' model files, written and loaded for real."""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simlab.adapters.local_store import LocalDirectoryStore
from simlab.adapters.objectstore import ObjectStore
from simlab.adapters.s3_store import S3Config, S3Store
from simlab.bundle import Bundle, read_archive
from simlab.devstack.minio_server import MinioServer, minio_binary, start_minio
from simlab.usercode import LoadedCode, UserCodeError, inspect, load
from simlab.v1 import simulation_pb2 as pb

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


class UserCode:
    """Writes a user's files (dedented; the entry is model.py unless named) into a fresh
    source directory, bundles them and sends the bundle through its archive as the job store
    would, then loads or inspects it in a fresh directory, as a worker does."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._numbers = itertools.count()

    def bundle(self, files: dict[str, str], entry: str = "model.py") -> Bundle:
        source = self.root / f"src{next(self._numbers)}"
        for path, text in files.items():
            (source / path).parent.mkdir(parents=True, exist_ok=True)
            (source / path).write_text(textwrap.dedent(text).lstrip("\n"))
        written = {
            p.relative_to(source).as_posix(): p.read_bytes()
            for p in sorted(source.rglob("*"))
            if p.is_file()
        }
        sent = Bundle(entry, written)
        return read_archive(sent.archive(), sent.sha256)

    def _directory(self) -> Path:
        directory = self.root / f"run{next(self._numbers)}"
        directory.mkdir()
        return directory

    def load(
        self, code: str, *, name: str = "model", files: dict[str, str] | None = None
    ) -> LoadedCode:
        return load(self.bundle({"model.py": code, **(files or {})}), self._directory(), name)

    def inspect(
        self, code: str, *, name: str = "model", files: dict[str, str] | None = None
    ) -> pb.Model:
        bundle = self.bundle({"model.py": code, **(files or {})})
        return inspect(bundle, self._directory(), name).model

    def error(self, code: str, *, files: dict[str, str] | None = None) -> UserCodeError:
        """The UserCodeError that inspecting `code` raises."""
        with pytest.raises(UserCodeError) as caught:
            self.inspect(code, files=files)
        return caught.value


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UserCode:
    # Loading puts the bundle's directory first on sys.path: undone after each test.
    monkeypatch.setattr(sys, "path", list(sys.path))
    return UserCode(tmp_path)
