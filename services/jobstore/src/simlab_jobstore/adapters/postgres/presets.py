"""Saved submission forms, one set per owner."""

from __future__ import annotations

import dataclasses

from psycopg.types.json import Jsonb

from simlab.common.errors import not_found

from ...core.presets import Preset
from ...core.quotas import Quotas
from .rows import preset_from_row
from .session import Database, now


class Presets:
    db: Database
    quotas: Quotas

    async def list_presets(self, owner: str, model: str) -> list[Preset]:
        async with self.db.session() as db:
            rows = await db.fetch_all(
                "SELECT name, model, parameters, seed, shards, updated_at FROM presets"
                " WHERE owner = %(owner)s AND (%(model)s = '' OR model = %(model)s) ORDER BY name",
                {"owner": owner, "model": model},
            )
        return [preset_from_row(row) for row in rows]

    async def save_preset(self, owner: str, preset: Preset) -> Preset:
        preset.validate()
        saved = dataclasses.replace(preset, updated_at=now())
        async with self.db.transaction() as db:
            # One saver per owner at a time: the count below stays true until the insert.
            await db.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", ("presets:" + owner,)
            )
            others = await db.count(
                "SELECT count(*) FROM presets WHERE owner = %s AND name <> %s",
                (owner, saved.name),
            )
            self.quotas.check_presets(others)
            await db.conn.execute(
                "INSERT INTO presets (owner, name, model, parameters, seed, shards, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (owner, name) DO UPDATE SET"
                " model = excluded.model, parameters = excluded.parameters,"
                " seed = excluded.seed, shards = excluded.shards, updated_at = excluded.updated_at",
                (
                    owner,
                    saved.name,
                    saved.model,
                    Jsonb(saved.parameters),
                    saved.seed,
                    saved.shards,
                    saved.updated_at,
                ),
            )
        return saved

    async def delete_preset(self, owner: str, name: str) -> None:
        async with self.db.session() as db:
            cursor = await db.conn.execute(
                "DELETE FROM presets WHERE owner = %s AND name = %s", (owner, name)
            )
            if cursor.rowcount == 0:
                raise not_found(f"preset {name!r}")
