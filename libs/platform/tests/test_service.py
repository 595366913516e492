"""run_service: a bad setting is one line and exit 2; the settings' log level applies to the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from simlab.common.service import BAD_SETTINGS_EXIT, run_service
from simlab.common.settings import SettingsError


@dataclass(frozen=True)
class Settings:
    log_level: str


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_run_logs_at_the_settings_level() -> None:
    seen: list[int] = []

    async def run(settings: Settings) -> None:
        seen.append(logging.getLogger().level)

    run_service("test", lambda: Settings("DEBUG"), run)
    assert seen == [logging.DEBUG]


def test_a_bad_setting_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def load() -> Settings:
        raise SettingsError("SIMLAB_TEST_LISTEN is not set")

    async def run(settings: Settings) -> None:
        raise AssertionError("never runs")

    with pytest.raises(SystemExit) as exit_:
        run_service("test", load, run)
    assert exit_.value.code == BAD_SETTINGS_EXIT
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "SIMLAB_TEST_LISTEN is not set" in lines[0]
