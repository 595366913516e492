"""Private files of the embedded stack: the state directory is 0700 and every secret file
0600 from the moment it exists (created with its mode, never chmod-ed after the write: a
reader could open it in between)."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Creates `path` (and its parents) 0700, or narrows an existing one to 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Writes `path` whole as a 0600 file: a new file beside it, then renamed over it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # A leftover of a crash may have another mode: O_EXCL creates ours afresh.
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
