"""How a registered model is named and its code identified: the one rule the gateway (refusing
a push before storing anything) and the job store (the registry's authority) both apply."""

from __future__ import annotations

import re

from simlab.common.errors import invalid

MAX_NAME_LENGTH = 64
NAME_PATTERN = rf"[A-Za-z][A-Za-z0-9_-]{{0,{MAX_NAME_LENGTH - 1}}}"
NAME_RULE = (
    f"letters, digits, '_' and '-', starting with a letter, at most {MAX_NAME_LENGTH} characters"
)
# A bundle's identity: the sha256 of its archive, lowercase hex.
SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(NAME_PATTERN)


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise invalid("name", f"{name!r} is not a model name: {NAME_RULE}")
