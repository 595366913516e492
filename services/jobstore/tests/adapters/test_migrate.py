from __future__ import annotations

import asyncio

import psycopg
import pytest

from simlab_jobstore.adapters.migrate import Migration, bundled_migrations, migrate

pytestmark = pytest.mark.integration


def test_migrations_apply_once_even_when_replicas_start_together(pg_uri: str) -> None:
    async def start_two() -> list[list[int]]:
        return list(await asyncio.gather(migrate(pg_uri), migrate(pg_uri)))

    versions = [m.version for m in bundled_migrations()]
    assert sorted(asyncio.run(start_two()), key=len) == [[], versions]
    assert asyncio.run(migrate(pg_uri)) == []
    with psycopg.connect(pg_uri) as conn:
        applied = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ANY(%s)",
            (
                [
                    "jobs",
                    "job_shards",
                    "block_stats",
                    "progress_points",
                    "presets",
                    "outbox",
                    "share_links",
                    "models",
                    "model_names",
                    "registrations",
                    "studies",
                ],
            ),
        ).fetchone()
    assert [version for (version,) in applied] == versions
    assert tables == (11,)


def test_a_failing_migration_leaves_nothing_behind(pg_uri: str) -> None:
    broken = Migration(9001, "broken", "CREATE TABLE half_done (x int); SELECT 1/0;")
    with pytest.raises(psycopg.errors.DivisionByZero):
        asyncio.run(migrate(pg_uri, [*bundled_migrations(), broken]))
    with psycopg.connect(pg_uri) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
        newest = bundled_migrations()[-1].version
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (newest,)
