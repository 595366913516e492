"""Configuration from the environment: one prefix per service, failing fast when a required
variable is unset or malformed, so a misconfigured service never half-starts."""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Mapping
from typing import TypeVar

N = TypeVar("N", int, float)


class SettingsError(RuntimeError):
    pass


class Env:
    """Reads `<PREFIX>_<NAME>` variables, e.g. Env("SIMLAB_JOBSTORE").str("DATABASE_URL")."""

    def __init__(self, prefix: str, environ: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self.environ = os.environ if environ is None else environ

    def key(self, name: builtins.str) -> builtins.str:
        return f"{self.prefix}_{name}"

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        value = self.environ.get(self.key(name))
        if value is None or value == "":
            if default is None:
                raise SettingsError(f"{self.key(name)} is not set")
            return default
        return value

    def int(
        self,
        name: builtins.str,
        default: builtins.int | None = None,
        minimum: builtins.int | None = None,
    ) -> builtins.int:
        raw = self.str(name, None if default is None else str(default))
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{self.key(name)} must be an integer, got {raw!r}") from None
        return self._at_least(name, value, minimum)

    def float(
        self,
        name: builtins.str,
        default: builtins.float | None = None,
        minimum: builtins.float | None = None,
    ) -> builtins.float:
        raw = self.str(name, None if default is None else repr(default))
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{self.key(name)} must be a number, got {raw!r}") from None
        return self._at_least(name, value, minimum)

    def _at_least(self, name: builtins.str, value: N, minimum: N | None) -> N:
        if minimum is None or value >= minimum:
            return value
        bound = "not be negative" if minimum == 0 else f"be at least {minimum:g}"
        raise SettingsError(f"{self.key(name)} must {bound}, got {value:g}")

    def address(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        """A host:port to listen on or call (port 0: a free one)."""
        value = self.str(name, default)
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(f"{self.key(name)} must be host:port, got {value!r}")
        return value

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        raw = self.str(name, "true" if default else "false").lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{self.key(name)} must be true or false, got {raw!r}")

    def log_level(self) -> builtins.str:
        """LOG_LEVEL, a level name in any case (default INFO), as logging spells it."""
        level = self.str("LOG_LEVEL", "INFO").upper()
        if level not in logging.getLevelNamesMapping():
            raise SettingsError(
                f"{self.key('LOG_LEVEL')} must be DEBUG, INFO, WARNING or ERROR, got {level!r}"
            )
        return level
