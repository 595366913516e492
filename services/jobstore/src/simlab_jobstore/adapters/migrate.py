"""Applies the SQL files of simlab_jobstore.migrations that the database has not seen, each in
its own transaction, recording them in schema_migrations. An advisory lock makes replicas
starting together take turns; a re-run applies nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

# Any constant shared by every replica; distinct from the relay's.
MIGRATION_LOCK = 7_314_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("simlab_jobstore.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda migration: migration.version)


async def migrate(database_url: str, migrations: list[Migration] | None = None) -> list[int]:
    """The versions applied by this call (empty when the schema was already current)."""
    migrations = bundled_migrations() if migrations is None else migrations
    applied_now = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cursor = await conn.execute("SELECT version FROM schema_migrations")
            done = {version for (version,) in await cursor.fetchall()}
            for migration in migrations:
                if migration.version in done:
                    continue
                async with conn.transaction():
                    # Without parameters, one execute() may hold many statements.
                    await conn.execute(migration.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                log.info("migration applied", extra={"version": migration.version})
                applied_now.append(migration.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied_now
