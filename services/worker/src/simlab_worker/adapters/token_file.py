"""The worker's token from the file the runner hands it (SIMLAB_WORKER_TOKEN_FILE): the
runner replaces that file whole as it renews the token (locally by a rename, on Kubernetes
the kubelet swaps the mounted Secret's files), so the file is read again whenever it changed
and the renewed token goes with the next call."""

from __future__ import annotations

import os
from pathlib import Path


class TokenFile:
    def __init__(self, path: Path, token: str) -> None:
        """`token`: the file's content as read at start (Settings checked it is there)."""
        self.path = path
        self._token = token
        self._seen = self._version()

    def _version(self) -> tuple[int, int, int] | None:
        try:
            # Follows symlinks: a mounted Secret's file is a link into its current version.
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def __call__(self) -> str:
        version = self._version()
        if version is not None and version != self._seen:
            try:
                token = self.path.read_text().strip()
            except OSError:
                token = ""
            # A file caught empty or gone keeps the last token: the next call looks again.
            if token:
                self._token, self._seen = token, version
        return self._token
