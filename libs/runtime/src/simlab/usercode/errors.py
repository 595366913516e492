"""The one error users see when their code cannot be loaded or registered."""

from __future__ import annotations

import traceback as tb
from pathlib import Path


class UserCodeError(Exception):
    """str() is the one-line message users see, starting with "file:line: " where known, e.g.
    "asian.py:12: parameter 'steps': annotation list[int] is not float, int, bool or Literal".
    `traceback` is the user code's traceback, if the code itself raised."""

    def __init__(self, message: str, *, line: int | None = None, traceback: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.traceback = traceback

    def __str__(self) -> str:
        return self.message


def user_frame(exc: BaseException, directory: Path) -> tuple[str, int | None]:
    """The innermost frame of `exc`'s traceback that runs a file of the bundle: its path
    relative to `directory` and its line; ("", None) when no bundled file is involved."""
    found: tuple[str, int | None] = ("", None)
    for frame in tb.extract_tb(exc.__traceback__):
        relative = relative_to(Path(frame.filename), directory)
        if relative:
            found = (relative, frame.lineno)
    return found


def relative_to(path: Path, directory: Path) -> str:
    """`path` relative to `directory` in "/" form, or "" when it lies outside."""
    try:
        return path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        return ""


def at(file: str, line: int | None) -> str:
    """The "file:line" prefix of a message."""
    return f"{file}:{line}" if line is not None else file


def format_traceback(exc: BaseException) -> str:
    return "".join(tb.format_exception(exc))
