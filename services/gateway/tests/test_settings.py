"""SIMLAB_GATEWAY_* settings: defaults, and one clear error that names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.adapters.s3_store import S3Config
from simlab.common.settings import SettingsError
from simlab_gateway.settings import REPO_WEB_DIST, Settings

REQUIRED = {
    "SIMLAB_GATEWAY_JOBSTORE": "127.0.0.1:7000",
    "SIMLAB_GATEWAY_SERVICE_TOKEN": "service",
    "SIMLAB_GATEWAY_NATS_URL": "nats://127.0.0.1:4222",
    "SIMLAB_GATEWAY_TOKENS": "t=me",
    "SIMLAB_GATEWAY_OBJECTS_DIR": "/tmp/objects",
}


def settings(**overrides: str) -> Settings:
    env = {**REQUIRED, **{f"SIMLAB_GATEWAY_{k}": v for k, v in overrides.items()}}
    return Settings.from_env({k: v for k, v in env.items() if v})


def test_defaults() -> None:
    loaded = settings()
    assert loaded.listen == "127.0.0.1:8080"
    assert (loaded.max_shards, loaded.jobstore_retry_s) == (64, 5.0)
    assert loaded.redirect_downloads and loaded.log_level == "INFO"
    assert (loaded.web_dir, loaded.object_store) == (REPO_WEB_DIST, Path("/tmp/objects"))
    assert (loaded.tokens, loaded.session_secret) == ({"t": "me"}, None)
    assert loaded.allowed_hosts == frozenset({"localhost", "127.0.0.1", "::1"})
    assert (loaded.authors, loaded.max_bundle_bytes) == (None, 20 * 1024 * 1024)
    assert loaded.registration_timeout_s == 300.0


def test_authors() -> None:
    assert settings(AUTHORS=" alice, bob ,").authors == frozenset({"alice", "bob"})
    assert settings(AUTHORS="*").authors is None


def test_the_local_user_is_no_longer_signed_in_without_a_token() -> None:
    with pytest.raises(SettingsError, match="SIMLAB_GATEWAY_TOKENS is not set"):
        Settings.from_env(
            {**REQUIRED, "SIMLAB_GATEWAY_TOKENS": "", "SIMLAB_GATEWAY_LOCAL_USER": "me"}
        )


def test_allowed_hosts_and_the_session_secret() -> None:
    assert settings(LISTEN="10.0.0.5:80").allowed_hosts == frozenset(
        {"localhost", "127.0.0.1", "::1", "10.0.0.5"}
    )
    # A wildcard listen address is no name to be reached by.
    assert settings(LISTEN="0.0.0.0:80").allowed_hosts == frozenset(
        {"localhost", "127.0.0.1", "::1"}
    )
    given = settings(ALLOWED_HOSTS="Simlab.Example.COM:443, [::1]:8080,10.1.2.3")
    assert given.allowed_hosts == frozenset({"simlab.example.com", "::1", "10.1.2.3"})
    assert settings(ALLOWED_HOSTS="*").allowed_hosts is None
    assert settings(SESSION_SECRET="x" * 32).session_secret == "x" * 32


def test_tokens_and_the_s3_store() -> None:
    loaded = settings(
        TOKENS="a=alice,b=bob",
        S3_ENDPOINT="http://127.0.0.1:9000",
        S3_ACCESS_KEY="k",
        S3_SECRET_KEY="s",
        S3_BUCKET="b",
    )
    assert loaded.tokens == {"a": "alice", "b": "bob"}
    assert isinstance(loaded.object_store, S3Config) and loaded.object_store.bucket == "b"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"JOBSTORE": ""}, "SIMLAB_GATEWAY_JOBSTORE is not set"),
        ({"OBJECTS_DIR": ""}, "SIMLAB_GATEWAY_OBJECTS_DIR is not set"),
        ({"MAX_SHARDS": "abc"}, "SIMLAB_GATEWAY_MAX_SHARDS must be an integer"),
        ({"MAX_SHARDS": "0"}, "SIMLAB_GATEWAY_MAX_SHARDS must be at least 1"),
        ({"JOBSTORE_RETRY_S": "-1"}, "SIMLAB_GATEWAY_JOBSTORE_RETRY_S must not be negative"),
        ({"REDIRECT_DOWNLOADS": "maybe"}, "SIMLAB_GATEWAY_REDIRECT_DOWNLOADS must be true or"),
        ({"LISTEN": "8080"}, "SIMLAB_GATEWAY_LISTEN must be host:port"),
        ({"LOG_LEVEL": "loud"}, "SIMLAB_GATEWAY_LOG_LEVEL must be DEBUG, INFO"),
        ({"TOKENS": "alice"}, "SIMLAB_GATEWAY_TOKENS: token list entry '…' is not"),
        ({"TOKENS": ""}, "SIMLAB_GATEWAY_TOKENS is not set: nobody could sign in"),
        ({"SESSION_SECRET": "short"}, "SIMLAB_GATEWAY_SESSION_SECRET is too short"),
        ({"ALLOWED_HOSTS": " , "}, "SIMLAB_GATEWAY_ALLOWED_HOSTS names no host"),
        ({"AUTHORS": "*,alice"}, "SIMLAB_GATEWAY_AUTHORS: \\* \\(everyone\\) or a list"),
        ({"AUTHORS": " , "}, "SIMLAB_GATEWAY_AUTHORS names nobody"),
        ({"MAX_BUNDLE_BYTES": "0"}, "SIMLAB_GATEWAY_MAX_BUNDLE_BYTES must be at least 1"),
        ({"REGISTRATION_TIMEOUT_S": "x"}, "SIMLAB_GATEWAY_REGISTRATION_TIMEOUT_S must be a"),
    ],
)
def test_a_bad_setting_names_its_variable(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**overrides)


def test_a_bad_setting_stops_the_gateway_with_one_line_and_status_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMLAB_")}
    env.update(REQUIRED, SIMLAB_GATEWAY_MAX_SHARDS="abc")
    done = subprocess.run(
        [sys.executable, "-m", "simlab_gateway"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "SIMLAB_GATEWAY_MAX_SHARDS must be an integer, got 'abc'" in line
