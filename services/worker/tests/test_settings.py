import os

import pytest

from simlab.common.settings import SettingsError
from simlab_worker.adapters.token_file import TokenFile
from simlab_worker.settings import Settings

BASE = {
    "SIMLAB_WORKER_JOB_ID": "j-1",
    "SIMLAB_WORKER_SHARD": "2",
    "SIMLAB_WORKER_JOBSTORE": "127.0.0.1:7001",
    "SIMLAB_WORKER_TOKEN": "job.j-1.abc",
}


def settings(environ: dict) -> Settings:
    return Settings.from_env(environ)


def test_defaults():
    s = settings(BASE)
    assert (s.job_id, s.shard, s.jobstore, s.token) == ("j-1", 2, "127.0.0.1:7001", "job.j-1.abc")
    assert s.report_interval_s == 0.25
    assert s.runtime == "local"


def test_the_runtime_names_the_image():
    assert settings({**BASE, "SIMLAB_WORKER_RUNTIME": "simlab/worker:1.4"}).runtime == (
        "simlab/worker:1.4"
    )


def test_object_store_settings_are_not_read():
    """Workers hold no object-store credentials: such variables change nothing."""
    given = {"SIMLAB_WORKER_OBJECTS_DIR": "", "SIMLAB_S3_ENDPOINT": "ftp://host"}
    assert settings({**BASE, **given}) == settings(BASE)


def test_the_shard_falls_back_to_the_kubernetes_completion_index():
    environ = {k: v for k, v in BASE.items() if k != "SIMLAB_WORKER_SHARD"}
    assert settings({**environ, "JOB_COMPLETION_INDEX": "4"}).shard == 4
    with pytest.raises(SettingsError, match="SIMLAB_WORKER_SHARD"):
        settings(environ)


def test_the_token_can_come_from_a_file_the_runner_renews(tmp_path):
    (tmp_path / "token").write_text("w1.j-1.2.1.99.fromfile\n")
    environ = {k: v for k, v in BASE.items() if k != "SIMLAB_WORKER_TOKEN"}
    from_file = settings({**environ, "SIMLAB_WORKER_TOKEN_FILE": str(tmp_path / "token")})
    assert (from_file.token, from_file.token_file) == ("w1.j-1.2.1.99.fromfile", tmp_path / "token")
    assert settings(BASE).token_file is None
    with pytest.raises(SettingsError, match="TOKEN_FILE"):
        settings({**environ, "SIMLAB_WORKER_TOKEN_FILE": str(tmp_path / "missing")})
    with pytest.raises(SettingsError, match="SIMLAB_WORKER_TOKEN or SIMLAB_WORKER_TOKEN_FILE"):
        settings(environ)
    assert "fromfile" not in repr(from_file)


def test_a_renewed_token_file_is_read_again_and_a_file_caught_empty_keeps_the_last(tmp_path):
    path = tmp_path / "token"
    path.write_text("first")
    token = TokenFile(path, "first")
    assert token() == "first"
    # Replaced whole, as the runner renews it.
    (tmp_path / "new").write_text("second\n")
    os.replace(tmp_path / "new", path)
    assert token() == "second"
    path.write_text("")
    assert token() == "second"
    path.unlink()
    assert token() == "second"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIMLAB_WORKER_JOB_ID", ""),
        ("SIMLAB_WORKER_SHARD", "one"),
        ("SIMLAB_WORKER_SHARD", "-1"),
        ("SIMLAB_WORKER_REPORT_INTERVAL_S", "often"),
    ],
)
def test_missing_or_malformed_settings_fail_fast(name, value):
    with pytest.raises(SettingsError):
        settings({**BASE, name: value})
