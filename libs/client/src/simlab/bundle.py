"""Bundles: the files of one model version and its manifest, as one deterministic archive.

The CLI builds a bundle from your files, the gateway rebuilds it from the files it receives,
and both must get the same bytes, hence the same sha256 (the bundle's identity): an
uncompressed USTAR tar, entries sorted by path, every header field fixed (mtime 0, owner 0,
no user or group names, mode 0644 or 0755), regular files only, plus a manifest member
naming the entry file."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType

MANIFEST = ".simlab-bundle.json"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Names that hold secrets, never code: refused, so that a key does not end up on the server.
SECRET_NAMES = ("*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p12", "*.pfx")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


class BundleError(ValueError):
    """The code cannot be bundled; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Bundle:
    """The code of a model version: `files` (relative "/" paths -> bytes, the manifest
    excluded), of which `entry` is the module with simulate / MODEL, or the script."""

    entry: str
    files: Mapping[str, bytes]
    executable: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        # A private, read-only copy: the archive is cached, so the files must not change.
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "executable", frozenset(self.executable))

    def archive(self) -> bytes:
        """The deterministic tar of the files and the manifest."""
        return self._archive

    @property
    def sha256(self) -> str:
        """The bundle's identity: sha256 (hex) of its archive."""
        return self._sha256

    @property
    def size(self) -> int:
        """The archive's size in bytes."""
        return len(self._archive)

    @cached_property
    def _archive(self) -> bytes:
        members = {path: (data, path in self.executable) for path, data in self.files.items()}
        members[MANIFEST] = (manifest(self.entry), False)
        buffer = io.BytesIO()
        with tarfile.open(
            fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT, encoding="utf-8"
        ) as tar:
            for path in sorted(members):
                data, executable = members[path]
                tar.addfile(_header(path, len(data), executable), io.BytesIO(data))
        return buffer.getvalue()

    @cached_property
    def _sha256(self) -> str:
        return hashlib.sha256(self._archive).hexdigest()


def manifest(entry: str) -> bytes:
    return json.dumps({"entry": entry}, sort_keys=True, separators=(",", ":")).encode()


def _header(path: str, size: int, executable: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = 0o755 if executable else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def check_path(path: str) -> None:
    """Refuses a path that is not a plain relative "/" path the archive can hold."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise BundleError(
            f"{path!r}: bundle paths are relative, '/'-separated, without backslashes"
        )
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BundleError(f"{path!r}: bundle paths have no empty, '.' or '..' parts")
    if path == MANIFEST:
        raise BundleError(f"{path!r}: the name is reserved for the bundle's manifest")
    try:
        _header(path, 0, False).tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
    except ValueError:
        raise BundleError(
            f"{path!r}: the path is too long for the archive (at most 100 characters per "
            "name, 255 in all); rename or move the file"
        ) from None


def _refuse_secret(path: str, data: bytes) -> None:
    parts = path.split("/")
    name = parts[-1]
    if ".git" in parts:
        raise BundleError(f"{path}: .git/ is never bundled; leave it out")
    if name == ".env" or name.startswith(".env."):
        raise BundleError(f"{path}: .env files hold secrets and are never bundled; leave it out")
    if any(PurePosixPath(name).match(pattern) for pattern in SECRET_NAMES):
        raise BundleError(
            f"{path}: looks like a key or certificate ({', '.join(SECRET_NAMES)}) and is "
            "never bundled; leave it out"
        )
    if PRIVATE_KEY.search(data):
        raise BundleError(f"{path}: contains a private key and is never bundled; remove the key")


def _refuse_clashes(paths: Iterable[str]) -> None:
    """Refuses a file whose path is another file's directory (`a` beside `a/b.py`)."""
    known = set(paths)
    for path in known:
        parts = path.split("/")
        for end in range(1, len(parts)):
            if "/".join(parts[:end]) in known:
                raise BundleError(f"{path}: {'/'.join(parts[:end])} is a file, not a directory")


def check(files: Mapping[str, bytes], entry: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Refuses what a bundle must not be: no such entry or not a .py file, odd paths,
    secrets (.git/, .env, keys), more than max_bytes in all."""
    if not entry.endswith(".py"):
        raise BundleError(f"the entry {entry!r} is not a .py file; give the Python file to run")
    if entry not in files:
        raise BundleError(f"the entry {entry!r} is not one of the bundle's files")
    for path, data in files.items():
        check_path(path)
        _refuse_secret(path, data)
    _refuse_clashes(files)
    total = sum(len(data) for data in files.values())
    if total > max_bytes:
        largest = sorted(files, key=lambda path: (-len(files[path]), path))[:5]
        sizes = ", ".join(f"{path} ({len(files[path]):,} bytes)" for path in largest)
        raise BundleError(
            f"the bundle is {total:,} bytes, more than the limit of {max_bytes:,}; "
            f"the largest files: {sizes}. Leave data out (.gitignore) and read it at run time"
        )


def from_source(source: str, entry: str = "model.py") -> Bundle:
    """A bundle of one file: `source` as `entry`."""
    files = {entry: source.encode()}
    check(files, entry)
    return Bundle(entry, files)


def read_archive(data: bytes, expected_sha256: str | None = None) -> Bundle:
    """The bundle of an archive that Bundle.archive made: checks that its sha256 is the
    expected one, and refuses anything but regular files at safe paths."""
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise BundleError(f"the bundle's sha256 is {digest}, expected {expected_sha256}")
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    entry: str | None = None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if not member.isreg():
                    raise BundleError(f"{member.name!r}: a bundle holds regular files only")
                content = tar.extractfile(member)
                assert content is not None  # a regular file has content
                if member.name == MANIFEST:
                    entry = _entry_of(content.read())
                    continue
                check_path(member.name)
                if member.name in files:
                    raise BundleError(f"{member.name!r}: the bundle holds it twice")
                files[member.name] = content.read()
                if member.mode & 0o111:
                    executable.add(member.name)
    except tarfile.TarError as error:
        raise BundleError(f"not a bundle archive: {error}") from None
    if entry is None:
        raise BundleError(f"not a bundle archive: it has no {MANIFEST}")
    if entry not in files:
        raise BundleError(f"the manifest's entry {entry!r} is not one of the bundle's files")
    _refuse_clashes(files)
    bundle = Bundle(entry, files, frozenset(executable))
    # The bytes verified must be the bytes the files make, or the identity would lie.
    if bundle.sha256 != digest:
        raise BundleError("not a canonical bundle archive (Bundle.archive did not make it)")
    return bundle


def _entry_of(raw: bytes) -> str:
    try:
        entry = json.loads(raw)["entry"]
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"the bundle's {MANIFEST} is not {{'entry': PATH}}") from None
    if not isinstance(entry, str):
        raise BundleError(f"the bundle's {MANIFEST} is not {{'entry': PATH}}")
    return entry


def extract(bundle: Bundle, directory: Path) -> Path:
    """Writes the bundle's files under `directory`; returns the entry file's path."""
    for path, data in bundle.files.items():
        check_path(path)
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o755 if path in bundle.executable else 0o644)
    return directory / bundle.entry
