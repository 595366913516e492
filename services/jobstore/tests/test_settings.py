from __future__ import annotations

import pytest

from simlab.common.settings import SettingsError
from simlab_jobstore.settings import Settings

GOOD = {
    "SIMLAB_JOBSTORE_DATABASE_URL": "postgresql:///x",
    "SIMLAB_JOBSTORE_NATS_URL": "nats://127.0.0.1:4222",
    "SIMLAB_JOBSTORE_LISTEN": "127.0.0.1:50051",
    "SIMLAB_JOBSTORE_SERVICE_TOKEN": "t",
    "SIMLAB_JOBSTORE_JOB_TOKEN_SECRET": "s",
    "SIMLAB_JOBSTORE_OBJECTS_DIR": "/tmp/objects",
}


def test_settings_read_their_prefix_with_defaults() -> None:
    settings = Settings.from_env(GOOD)
    assert (settings.listen, settings.pool_size, settings.fault) == ("127.0.0.1:50051", 10, "")
    assert settings.log_level == "INFO"
    assert Settings.from_env({**GOOD, "SIMLAB_JOBSTORE_LOG_LEVEL": "debug"}).log_level == "DEBUG"


@pytest.mark.parametrize("name", [name.removeprefix("SIMLAB_JOBSTORE_") for name in GOOD])
def test_a_missing_setting_stops_the_start_and_is_named(name: str) -> None:
    environ = {k: v for k, v in GOOD.items() if k != f"SIMLAB_JOBSTORE_{name}"}
    with pytest.raises(SettingsError, match=f"SIMLAB_JOBSTORE_{name}"):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LISTEN", "50051"),
        ("POOL_SIZE", "0"),
        ("POOL_SIZE", "many"),
        ("FAULT", "explode"),
        ("LOG_LEVEL", "loud"),
    ],
)
def test_a_malformed_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"SIMLAB_JOBSTORE_{name}"):
        Settings.from_env({**GOOD, f"SIMLAB_JOBSTORE_{name}": value})


def test_share_links_expire_after_30_days_unless_configured() -> None:
    assert Settings.from_env(GOOD).share_link_default_ttl_s == 30 * 86400
    week = {**GOOD, "SIMLAB_JOBSTORE_SHARE_LINK_DEFAULT_TTL_DAYS": "7"}
    assert Settings.from_env(week).share_link_default_ttl_s == 7 * 86400
    for days in ("0", "-1", "400", "nan", "inf", "soon"):
        environ = {**GOOD, "SIMLAB_JOBSTORE_SHARE_LINK_DEFAULT_TTL_DAYS": days}
        with pytest.raises(SettingsError, match="SIMLAB_JOBSTORE_SHARE_LINK_DEFAULT_TTL_DAYS"):
            Settings.from_env(environ)


def test_study_limits_default_to_10000_points_a_study_and_50000_held() -> None:
    settings = Settings.from_env(GOOD)
    assert (settings.max_study_points, settings.quotas.active_study_points) == (10_000, 50_000)
    smaller = {
        **GOOD,
        "SIMLAB_JOBSTORE_MAX_STUDY_POINTS": "100",
        "SIMLAB_JOBSTORE_MAX_ACTIVE_STUDY_POINTS_PER_USER": "500",
    }
    settings = Settings.from_env(smaller)
    assert (settings.max_study_points, settings.quotas.active_study_points) == (100, 500)
    for name in ("MAX_STUDY_POINTS", "MAX_ACTIVE_STUDY_POINTS_PER_USER"):
        with pytest.raises(SettingsError, match=f"SIMLAB_JOBSTORE_{name}"):
            Settings.from_env({**GOOD, f"SIMLAB_JOBSTORE_{name}": "0"})
