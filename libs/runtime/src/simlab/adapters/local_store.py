"""Object store in a local directory: the embedded default of `make run`. It has no presigned
URLs: its files are downloaded through the gateway."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from simlab.adapters.objectstore import ManifestStore, ObjectInfo, check_key


class LocalDirectoryStore(ManifestStore):
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
        return _AtomicWriter(self._path(check_key(key)))

    def _open_raw(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def _list_raw(self, prefix: str) -> Iterator[ObjectInfo]:
        base = (self.root / prefix).resolve()
        if not base.is_relative_to(self.root):
            return
        found = [base] if base.is_file() else base.rglob("*")
        for p in found:
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield ObjectInfo(p.relative_to(self.root).as_posix(), p.stat().st_size)

    def _exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            # Drop the directories this leaves empty (a staging directory, typically).
            for parent in path.parents:
                if parent == self.root:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break  # not empty

    def _presign(self, key: str, expires_s: int | None) -> None:
        return None


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
