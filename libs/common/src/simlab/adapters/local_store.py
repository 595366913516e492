"""Object store in a local directory: the embedded default of `make run`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from simlab.adapters.objectstore import ObjectInfo


class LocalDirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise KeyError(key)
        return path

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._writer(key) as out:
            out.write(data)

    def put_file(self, key: str, path: Path) -> None:
        with self._writer(key) as out, path.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)

    def _writer(self, key: str) -> _AtomicWriter:
        return _AtomicWriter(self._path(key))

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def iter_chunks(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        with self.open(key) as f:
            while chunk := f.read(chunk_size):
                yield chunk

    def list(self, prefix: str) -> list[ObjectInfo]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        found = [
            ObjectInfo(p.relative_to(self.root).as_posix(), p.stat().st_size)
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        ]
        return sorted(found, key=lambda o: o.key)


class _AtomicWriter:
    """Writes to a temporary file beside the target and renames it into place on success, so
    a reader never sees half an object."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> BinaryIO:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.target.parent)
        self.tmp = Path(tmp)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        return self.file

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)
