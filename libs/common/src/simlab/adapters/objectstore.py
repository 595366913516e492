"""The object-store interface results go through, and the choice of adapter by configuration.
Keys are '/'-separated, e.g. jobs/<job_id>/summary.json."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from simlab.common.settings import Env


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


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


def from_env(env: Env) -> ObjectStore:
    """The local-directory store under <PREFIX>_OBJECTS_DIR."""
    from simlab.adapters.local_store import LocalDirectoryStore

    return LocalDirectoryStore(Path(env.str("OBJECTS_DIR")))
