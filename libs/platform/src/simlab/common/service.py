"""What every service's `__main__` does: set up logging, read its settings (a bad one is one
log line and exit status 2, never a traceback), log at the level they name, run until SIGTERM
or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from simlab.common.logs import setup
from simlab.common.settings import SettingsError


class ServiceSettings(Protocol):
    @property
    def log_level(self) -> str:
        """A level name as logging spells it (Env.log_level)."""
        ...


S = TypeVar("S")
Service = TypeVar("Service", bound=ServiceSettings)

BAD_SETTINGS_EXIT = 2


def load_settings(log: logging.Logger, load: Callable[[], S]) -> S:
    try:
        return load()
    except SettingsError as error:
        log.error("bad configuration: %s", error)
        sys.exit(BAD_SETTINGS_EXIT)


def run_service(
    service: str,
    load: Callable[[], Service],
    run: Callable[[Service], Coroutine[Any, Any, None]],
) -> None:
    # INFO until the settings are read: a bad one is logged either way.
    log = setup(service)
    settings = load_settings(log, load)
    logging.getLogger().setLevel(settings.log_level)
    asyncio.run(run(settings))


async def stop_signal() -> None:
    """Returns at the first SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
