"""The object-store interface results go through, and what its adapters share.

Keys are '/'-separated, e.g. jobs/<job_id>/summary.json. list(prefix) gives the object named
`prefix`, if any, and every object under the directory `prefix`/ (never jobs/abc/... for
list("jobs/ab")), so list(key) also tells one object's size.

Atomic result sets
------------------
`commit_prefix(prefix, files)` publishes a set of files so that a reader sees all of them or
none. Each file is written under <prefix>/.staging-<uuid>/<name>; then <prefix>/manifest.json
(each name with its size and sha256, and the staging directory) is written last, in one PUT
or rename: that write is the commit. Readers go through the manifest: list(prefix) shows
<prefix>/<name> for each committed name and never a staging object or a manifest itself, and
open, iter_chunks and presigned_url resolve <prefix>/<name> to its staged object. A committed
name hides a plain object (put_*) at the same key. Committing again to the same prefix swaps
the whole set at once, then deletes the previous staging directory (a reader still streaming
an old file may be cut off). A writer that dies before its manifest leaves a staging directory
that no reader sees. Both adapters get this from `ManifestStore`, so they behave the same.

Keys are bounded (`valid_key`): at most MAX_KEY_LENGTH characters and MAX_KEY_DEPTH segments,
each of at most MAX_SEGMENT_BYTES in UTF-8 (a file name's limit on every common file system,
so the local store can hold any key), no empty, "." or ".." segment, no NUL. Readers treat any
other name as missing (KeyError, an empty list), writers refuse it (ValueError); so a name
resolves in at most MAX_KEY_DEPTH manifest reads however it was made up.

The adapter is chosen by configuration in objectstore_factory.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from simlab.common.errors import Code, SimlabError

MANIFEST = "manifest.json"
STAGING = ".staging-"
# S3's own limit on a key's length; depth far beyond any result set's layout.
MAX_KEY_LENGTH = 1024
MAX_KEY_DEPTH = 32
MAX_SEGMENT_BYTES = 255


def valid_key(key: str) -> bool:
    """Whether `key` may name an object (see the module's doc)."""
    if not key or len(key) > MAX_KEY_LENGTH or "\0" in key:
        return False
    parts = key.split("/")
    return len(parts) <= MAX_KEY_DEPTH and all(
        p not in ("", ".", "..") and len(p.encode("utf-8", "surrogatepass")) <= MAX_SEGMENT_BYTES
        for p in parts
    )


def check_key(key: str) -> str:
    """`key`, or ValueError for a writer given a name that cannot be a key."""
    if not valid_key(key):
        raise ValueError(
            f"{key[:100]!r} is not an object key: at most {MAX_KEY_LENGTH} characters and "
            f"{MAX_KEY_DEPTH} segments of at most {MAX_SEGMENT_BYTES} bytes, none empty, '.' or "
            "'..', no NUL"
        )
    return key


class ObjectStoreUnavailable(SimlabError):
    """The store did not answer after the bounded retries; the message names its endpoint."""

    def __init__(self, message: str) -> None:
        super().__init__(Code.UNAVAILABLE, message)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A committed result set: the files under `prefix`, stored in its `staging` directory."""

    prefix: str
    staging: str
    files: tuple[ManifestEntry, ...]

    def staged_key(self, name: str) -> str:
        return f"{self.prefix}/{self.staging}/{name}"

    def entry(self, name: str) -> ManifestEntry | None:
        return next((e for e in self.files if e.name == name), None)

    def to_json(self) -> bytes:
        files = [{"name": e.name, "size": e.size, "sha256": e.sha256} for e in self.files]
        return json.dumps({"version": 1, "staging": self.staging, "files": files}).encode()

    @classmethod
    def from_json(cls, prefix: str, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
            files = tuple(ManifestEntry(f["name"], f["size"], f["sha256"]) for f in doc["files"])
            return cls(prefix, doc["staging"], files)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{prefix}/{MANIFEST} is not a result manifest: {e}") from None


class ObjectStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def open(self, key: str) -> BinaryIO:
        """Raises KeyError when there is no such object."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """Raises KeyError when there is no such object."""
        ...

    def list(self, prefix: str) -> list[ObjectInfo]: ...

    def presigned_url(self, key: str, expires_s: int | None = None) -> str | None:
        """A URL that downloads the object without credentials until it expires, or None when
        the store has none (download through the gateway). Raises KeyError when missing."""
        ...

    def commit_prefix(self, prefix: str, files: Mapping[str, bytes | Path]) -> Manifest:
        """Publishes `files` (name -> content or file) under `prefix` all at once."""
        ...

    def read_manifest(self, prefix: str) -> Manifest | None: ...


class ManifestStore(ABC):
    """The parts of ObjectStore that are the same for every adapter (manifest-committed result
    sets), on top of a few raw operations that each adapter provides."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def _open_raw(self, key: str) -> BinaryIO:
        """The stored object itself; KeyError when missing."""

    @abstractmethod
    def _list_raw(self, prefix: str) -> Iterable[ObjectInfo]:
        """The stored object named `prefix` and every one under `prefix`/, staging and
        manifests included."""

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _delete(self, keys: list[str]) -> None: ...

    @abstractmethod
    def _presign(self, key: str, expires_s: int | None) -> str | None: ...

    def open(self, key: str) -> BinaryIO:
        if not valid_key(key):
            raise KeyError(key)
        return self._open_raw(self._resolve(key))

    def iter_chunks(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        # Opened before the first next(), so a missing key raises where the caller asks for it.
        f = self.open(key)
        return _chunks(f, chunk_size)

    def presigned_url(self, key: str, expires_s: int | None = None) -> str | None:
        if not valid_key(key):
            raise KeyError(key)
        resolved = self._resolve(key)
        if resolved == key and not self._exists(key):
            raise KeyError(key)
        return self._presign(resolved, expires_s)

    def read_manifest(self, prefix: str) -> Manifest | None:
        prefix = prefix.strip("/")
        if not valid_key(f"{prefix}/{MANIFEST}"):
            return None
        try:
            f = self._open_raw(f"{prefix}/{MANIFEST}")
        except KeyError:
            return None
        with f:
            return Manifest.from_json(prefix, f.read())

    def list(self, prefix: str) -> list[ObjectInfo]:
        prefix = prefix.strip("/")
        if prefix and not valid_key(prefix):
            return []
        visible: dict[str, ObjectInfo] = {}
        manifest_dirs = set(_parents(prefix))
        for info in self._list_raw(prefix):
            parts = info.key.split("/")
            if any(p.startswith(STAGING) for p in parts):
                continue
            if parts[-1] == MANIFEST and len(parts) > 1:
                manifest_dirs.add("/".join(parts[:-1]))
            else:
                visible[info.key] = info
        # Shallow manifests first, so a deeper one wins where both name the same key.
        for directory in sorted(manifest_dirs, key=lambda d: d.count("/")):
            manifest = self.read_manifest(directory)
            for entry in manifest.files if manifest else ():
                key = f"{directory}/{entry.name}"
                if in_prefix(key, prefix):
                    visible[key] = ObjectInfo(key, entry.size)
        return sorted(visible.values(), key=lambda o: o.key)

    def commit_prefix(self, prefix: str, files: Mapping[str, bytes | Path]) -> Manifest:
        prefix = check_key(prefix.strip("/"))
        for name in files:
            _check_name(name)
            check_key(f"{prefix}/{STAGING}{uuid.UUID(int=0).hex}/{name}")
        previous = self.read_manifest(prefix)
        manifest = Manifest(prefix, f"{STAGING}{uuid.uuid4().hex}", ())
        entries = []
        try:
            for name, content in files.items():
                key = manifest.staged_key(name)
                if isinstance(content, bytes):
                    self.put_bytes(key, content)
                    entries.append(
                        ManifestEntry(name, len(content), hashlib.sha256(content).hexdigest())
                    )
                else:
                    self.put_file(key, content)
                    entries.append(ManifestEntry(name, *_file_digest(content)))
            manifest = Manifest(prefix, manifest.staging, tuple(entries))
            self.put_bytes(f"{prefix}/{MANIFEST}", manifest.to_json())
        except ObjectStoreUnavailable:
            raise  # cleaning up would only wait through the retries again
        except BaseException:
            self._delete([manifest.staged_key(e.name) for e in entries])
            raise
        if previous and previous.staging != manifest.staging:
            # Committed all the same if this fails: the leftovers are invisible to readers.
            with contextlib.suppress(ObjectStoreUnavailable):
                self._delete([previous.staged_key(e.name) for e in previous.files])
        return manifest

    def _resolve(self, key: str) -> str:
        """The stored key behind `key` (a valid one): its staged object if a committed manifest
        above it names it (the nearest manifest wins), else `key` itself. At most one manifest
        read per segment, and MAX_KEY_DEPTH segments at most."""
        parts = key.strip("/").split("/")
        if any(p.startswith(STAGING) for p in parts) or parts[-1] == MANIFEST:
            return key
        for depth in range(len(parts) - 1, 0, -1):
            manifest = self.read_manifest("/".join(parts[:depth]))
            name = "/".join(parts[depth:])
            if manifest and manifest.entry(name):
                return manifest.staged_key(name)
        return key


def _chunks(f: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    with f:
        while chunk := f.read(chunk_size):
            yield chunk


def in_prefix(key: str, prefix: str) -> bool:
    """Whether list(prefix) covers `key`: the key itself or one under prefix/."""
    return not prefix or key == prefix or key.startswith(f"{prefix}/")


def _parents(prefix: str) -> Iterator[str]:
    """jobs/a/b -> jobs/a, jobs (not the root: a manifest never sits there)."""
    parts = prefix.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        yield "/".join(parts[:depth])


def _check_name(name: str) -> None:
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(STAGING) for p in parts) or parts[-1] == MANIFEST:
        raise ValueError(f"{name!r} cannot be the name of a committed file")


def _file_digest(path: Path) -> tuple[int, str]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    return path.stat().st_size, digest.hexdigest()
