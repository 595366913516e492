"""How the object-store settings choose the adapter and read the S3 settings, and how the store
is opened from them (see objectstore_factory.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simlab.adapters.local_store import LocalDirectoryStore
from simlab.adapters.objectstore_factory import object_store_settings, open_object_store
from simlab.adapters.s3_store import S3Config, S3Store
from simlab.common.settings import Env, SettingsError
from simlab.devstack.minio_server import MinioServer

SHARED = {
    "SIMLAB_S3_ENDPOINT": "http://minio.simlab:9000",
    "SIMLAB_S3_ACCESS_KEY": "shared-user",
    "SIMLAB_S3_SECRET_KEY": "shared-secret",
    "SIMLAB_S3_BUCKET": "simlab",
}


def _config(environ: dict[str, str]) -> S3Config | None:
    return S3Config.from_env(Env("SIMLAB_WORKER", environ))


def test_without_an_endpoint_the_local_directory_is_used(tmp_path: Path) -> None:
    env = Env("SIMLAB_GATEWAY", {"SIMLAB_GATEWAY_OBJECTS_DIR": str(tmp_path / "objects")})
    settings = object_store_settings(env)
    assert settings == tmp_path / "objects"
    assert not settings.exists()  # reading the settings opens nothing
    store = open_object_store(settings)
    assert isinstance(store, LocalDirectoryStore) and store.root == settings.resolve()
    assert settings.is_dir()


def test_without_either_the_objects_dir_is_named() -> None:
    with pytest.raises(SettingsError, match="SIMLAB_GATEWAY_OBJECTS_DIR is not set"):
        object_store_settings(Env("SIMLAB_GATEWAY", {}))


def test_an_endpoint_chooses_s3_over_the_objects_dir() -> None:
    environ = {**SHARED, "SIMLAB_WORKER_OBJECTS_DIR": "/srv/objects"}
    assert object_store_settings(Env("SIMLAB_WORKER", environ)) == _config(SHARED)


def test_a_local_root_that_cannot_be_created_fails_when_opened(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    settings = object_store_settings(
        Env("SIMLAB_WORKER", {"SIMLAB_WORKER_OBJECTS_DIR": str(tmp_path / "file" / "objects")})
    )
    with pytest.raises(OSError):
        open_object_store(settings)


def test_the_shared_variables_configure_every_service() -> None:
    config = _config(SHARED)
    assert config == S3Config(
        endpoint="minio.simlab:9000",
        secure=False,
        access_key="shared-user",
        secret_key="shared-secret",
        bucket="simlab",
        public_secure=False,
    )
    assert config.url == "http://minio.simlab:9000"


def test_a_service_variable_wins_over_the_shared_one() -> None:
    config = _config(
        {**SHARED, "SIMLAB_WORKER_S3_ACCESS_KEY": "worker", "SIMLAB_WORKER_S3_SECRET_KEY": "w"}
    )
    assert config is not None
    assert (config.access_key, config.secret_key, config.bucket) == ("worker", "w", "simlab")


def test_a_service_endpoint_alone_switches_that_service_to_s3() -> None:
    environ = {k.replace("SIMLAB_", "SIMLAB_WORKER_"): v for k, v in SHARED.items()}
    assert _config(environ) is not None
    assert S3Config.from_env(Env("SIMLAB_GATEWAY", environ)) is None


@pytest.mark.parametrize(
    ("endpoint", "secure_var", "expected"),
    [
        ("https://s3.example.org", None, ("s3.example.org", True)),
        ("http://127.0.0.1:9000/", None, ("127.0.0.1:9000", False)),
        ("s3.example.org", None, ("s3.example.org", True)),
        ("127.0.0.1:9000", "false", ("127.0.0.1:9000", False)),
    ],
)
def test_the_endpoint_is_a_url_or_a_host(
    endpoint: str, secure_var: str | None, expected: tuple[str, bool]
) -> None:
    environ = {**SHARED, "SIMLAB_S3_ENDPOINT": endpoint}
    if secure_var:
        environ["SIMLAB_S3_SECURE"] = secure_var
    config = _config(environ)
    assert config is not None and (config.endpoint, config.secure) == expected


def test_tuning_variables_are_read() -> None:
    config = _config(
        {
            **SHARED,
            "SIMLAB_S3_REGION": "eu-west-3",
            "SIMLAB_S3_PUBLIC_ENDPOINT": "https://files.example.org",
            "SIMLAB_S3_PRESIGN_EXPIRES_S": "300",
            "SIMLAB_S3_MULTIPART_THRESHOLD": str(32 * 2**20),
            "SIMLAB_S3_PART_SIZE": str(8 * 2**20),
            "SIMLAB_S3_MAX_ATTEMPTS": "3",
            "SIMLAB_S3_BACKOFF_S": "0.1",
        }
    )
    assert config is not None
    assert (config.region, config.public_endpoint, config.public_secure) == (
        "eu-west-3",
        "files.example.org",
        True,
    )
    assert (config.presign_expires_s, config.multipart_threshold, config.part_size) == (
        300,
        32 * 2**20,
        8 * 2**20,
    )
    assert (config.max_attempts, config.backoff_s) == (3, 0.1)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SIMLAB_S3_BUCKET", "", "SIMLAB_S3_BUCKET is not set"),
        ("SIMLAB_S3_ENDPOINT", "ftp://host", "must be http"),
        ("SIMLAB_S3_PRESIGN_EXPIRES_S", "86400", "presign expiry"),
        ("SIMLAB_S3_PART_SIZE", "1024", "part size"),
        ("SIMLAB_S3_MAX_ATTEMPTS", "zero", "must be an integer"),
    ],
)
def test_bad_settings_fail_fast_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _config({**SHARED, name: value})


def test_the_settings_open_a_working_s3_store(minio_server: MinioServer) -> None:
    env = Env("SIMLAB_WORKER", minio_server.env(bucket="from-env"))
    store = open_object_store(object_store_settings(env))
    assert isinstance(store, S3Store)
    store.put_bytes("jobs/j/summary.json", b"{}")
    assert [o.key for o in store.list("jobs/j")] == ["jobs/j/summary.json"]
