"""The embedded stack, started the way `make run` starts it, for end-to-end tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from simlab.client import Client
from simlab.devstack.stack import Stack, free_port

SUPPORT = Path(__file__).parent / "support"
# Users with tokens, besides the local user of the stack's own token (stack.token, as
# `make run`'s .simlab/token). carol's ends in '=' like base64 padding.
TOKENS = {"alice-token": "alice", "bob-token": "bob", "Y2Fyb2w=": "carol"}
LOCAL_USER = "local"
# A stand-in for the built UI (web/dist), so the gateway's static serving is tested alone.
INDEX_HTML = "<!doctype html><title>Simlab</title><script src=/assets/app-1234.js></script>"
APP_JS = "console.log('simlab');\n" * 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("stack"))


def running_stack(
    state: Path, launcher: str = "local", kube_state_dir: Path | None = None, **more_env: str
) -> Iterator[Stack]:
    """The embedded stack with the test users, models and UI stand-in (plus `more_env`),
    started in `state`, and stopped after."""
    web = state / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text(INDEX_HTML)
    (web / "assets" / "app-1234.js").write_text(APP_JS)
    stack = Stack(
        state / "state",
        free_port(),
        log_dir=state / "logs",
        extra_env={
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")])
            ),
            "SIMLAB_MODEL_MODULES": "simlab_test_models",
            "SIMLAB_GATEWAY_TOKENS": ",".join(f"{t}={u}" for t, u in TOKENS.items()),
            "SIMLAB_GATEWAY_MAX_SHARDS": "16",
            "SIMLAB_GATEWAY_WEB_DIR": str(web),
            **more_env,
        },
        launcher=launcher,
        kube_state_dir=kube_state_dir,
        user=LOCAL_USER,
    )
    try:
        # A busy machine (parallel test runs) may take minutes to import and seed a service.
        stack.start(timeout=240)
    except Exception:
        _dump_logs(stack)
        stack.stop()
        raise
    yield stack
    stack.stop()


def _dump_logs(stack: Stack) -> None:
    if stack.log_dir:
        for log in sorted(stack.log_dir.glob("*.log")):
            print(f"---- {log.name}\n{log.read_text()[-4000:]}")


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    with Client(stack.url, token=stack.token) as client:
        yield client


@pytest.fixture
def alice(stack: Stack) -> Iterator[Client]:
    with Client(stack.url, token="alice-token") as client:
        yield client


@pytest.fixture
def bob(stack: Stack) -> Iterator[Client]:
    with Client(stack.url, token="bob-token") as client:
        yield client
