"""Configuration from the environment: one prefix per service, failing fast when a required
variable is unset or malformed, so a misconfigured service never half-starts."""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Mapping


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

    def int(self, name: builtins.str, default: builtins.int | None = None) -> builtins.int:
        raw = self.str(name, None if default is None else str(default))
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{self.key(name)} must be an integer, got {raw!r}") from None

    def float(self, name: builtins.str, default: builtins.float | None = None) -> builtins.float:
        raw = self.str(name, None if default is None else repr(default))
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{self.key(name)} must be a number, got {raw!r}") from None

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
