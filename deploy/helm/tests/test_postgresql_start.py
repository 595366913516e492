"""The bundled PostgreSQL's start script, as the chart renders it, run against this machine's
PostgreSQL binaries: the job store's user is a plain role with the Secret's password (which
the rendered `database-url` carries URL-encoded), the superuser `postgres` is refused over
TCP, and a volume made by an older chart (the job store's user as the only superuser) is
fixed on its first start. Skipped where no PostgreSQL server binaries are installed."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml
from rendering import CHART, ROOT, Rendering, merged_values

HELM = ROOT / ".tools/bin/helm"


def server_binaries() -> Path | None:
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return versions[-1].parent if versions else None


PGBIN = server_binaries()
pytestmark = pytest.mark.skipif(PGBIN is None, reason="no PostgreSQL server binaries here")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pod:
    """What the StatefulSet's container has: the ConfigMap, the Secret, its environment."""

    base: Path
    env: dict[str, str]
    database_url: str
    password: str
    # PostgreSQL refuses to run as root: as root, run it as `nobody`.
    as_user: list[str]

    def run(self, *command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *command], env=self.env, text=True, check=True, **kwargs
        )  # type: ignore[call-overload]

    @property
    def url(self) -> str:
        """The rendered database-url, pointed at this machine's server."""
        parts = urlsplit(self.database_url)
        netloc = f"{parts.netloc.rpartition('@')[0]}@127.0.0.1:{self.env['PGPORT']}"
        return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def pod(tmp_path: Path) -> Iterator[Pod]:
    password = "p@ss:/w rd%+' \\x"  # every URL delimiter, a quote, a backslash
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"postgresql": {"password": password}}))
    out = subprocess.run(
        [str(HELM), "template", "simlab", str(CHART), "-n", "simlab", "-f", str(values)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    chart = Rendering([d for d in yaml.safe_load_all(out) if d], merged_values(values))
    config = chart.named("ConfigMap", "simlab-postgresql")
    secret = chart.named("Secret", "simlab-postgresql")
    assert config and secret and secret["stringData"]["password"] == password
    pg = chart.values["postgresql"]
    base = Path(tempfile.mkdtemp(prefix="simlab-pg-start-"))
    base.chmod(0o755)
    for name, text in (*config["data"].items(), ("password", password)):
        (base / name).write_text(text)
    (base / "sock").mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (base, base / "sock"):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}"]
        as_user += ["--clear-groups", "--"]
    env = {
        "PATH": f"{PGBIN}:/usr/bin:/bin",
        "PGDATA": str(base / "data"),
        "PGPORT": str(free_port()),
        "SOCKETS": str(base / "sock"),
        "PASSWORD_FILE": str(base / "password"),
        "HBA_FILE": str(base / "pg_hba.conf"),
        "POSTGRES_USER": pg["username"],
        "POSTGRES_DB": pg["database"],
    }
    try:
        yield Pod(base, env, secret["stringData"]["database-url"], password, as_user)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start(pod: Pod) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*pod.as_user, "/bin/sh", str(pod.base / "start.sh")],
        env=pod.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        ready = subprocess.run(
            [*pod.as_user, "/bin/sh", str(pod.base / "start.sh"), "ready"], env=pod.env
        )
        if ready.returncode == 0:
            return process
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"PostgreSQL did not start:\n{process.communicate()[0]}")
        time.sleep(0.3)


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)  # the image's STOPSIGNAL: a fast shutdown
    process.communicate(timeout=60)


def roles(pod: Pod) -> dict[str, tuple[bool, bool, bool]]:
    with psycopg.connect(pod.url) as conn:
        rows = conn.execute(
            "select rolname, rolsuper, rolcreatedb, rolcreaterole from pg_roles"
            " where rolname in ('postgres', %s)",
            (pod.env["POSTGRES_USER"],),
        ).fetchall()
        # The job store's migrations: it owns the database, so it may create tables.
        conn.execute("create table if not exists start_script_check (x int)")
    return {name: (sup, createdb, createrole) for name, sup, createdb, createrole in rows}


def check_roles(pod: Pod) -> None:
    found = roles(pod)
    assert found["postgres"][0] is True  # a superuser
    assert found["simlab"] == (False, False, False)  # no superuser, CREATEDB or CREATEROLE
    superuser = f"postgresql://postgres@127.0.0.1:{pod.env['PGPORT']}/simlab"
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
        psycopg.connect(superuser).close()


def test_a_fresh_volume_gets_a_plain_database_user(pod: Pod) -> None:
    server = start(pod)
    try:
        check_roles(pod)
    finally:
        stop(server)
    # A second start (the pod restarted) applies the same again, data kept.
    server = start(pod)
    try:
        check_roles(pod)
    finally:
        stop(server)


def test_a_volume_of_an_older_chart_loses_its_superuser_user(pod: Pod) -> None:
    """Before this chart: initdb -U simlab, so the job store's user was the only superuser."""
    pod.run("initdb", "-D", pod.env["PGDATA"], "-U", "simlab", "--auth-local=trust",
            "-E", "UTF8", "--locale=C", capture_output=True)  # fmt: skip
    pod.run(
        "postgres", "--single", "-D", pod.env["PGDATA"], "postgres",
        input='CREATE DATABASE "simlab" OWNER "simlab";\n', capture_output=True,
    )  # fmt: skip
    server = start(pod)
    try:
        check_roles(pod)
    finally:
        stop(server)
