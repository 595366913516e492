"""Saved submission forms, one set per owner, keyed by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simlab.common.errors import invalid

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    parameters: dict[str, Any]
    seed: int
    shards: int
    updated_at: datetime | None = None

    def validate(self) -> None:
        if not self.name.strip():
            raise invalid("preset.name", "must not be empty")
        if len(self.name) > MAX_NAME_LENGTH:
            raise invalid("preset.name", f"must be at most {MAX_NAME_LENGTH} characters")
        if not self.model:
            raise invalid("preset.model", "must not be empty")
        if self.shards < 0:
            raise invalid("preset.shards", f"must not be negative, got {self.shards}")
