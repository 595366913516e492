"""Where the client finds its token when none is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from simlab.client import Client, SimlabError, find_token

LOCAL = "http://127.0.0.1:8080"


def local_stack(root: Path, token: str = "local-token") -> Path:
    (root / ".simlab").mkdir()
    (root / ".simlab" / "token").write_text(f"{token}\n")
    return root


def test_the_order_argument_environment_file_then_simlab_dir(tmp_path: Path) -> None:
    root = local_stack(tmp_path)
    named = tmp_path / "named"
    named.write_text("from-file\n")
    cwd = root / "deep" / "er"
    cwd.mkdir(parents=True)
    env = {"SIMLAB_TOKEN": "from-env", "SIMLAB_TOKEN_FILE": str(named)}
    assert find_token(LOCAL, env, cwd) == "from-env"
    assert find_token(LOCAL, {"SIMLAB_TOKEN_FILE": str(named)}, cwd) == "from-file"
    # .simlab/token of the working directory or a parent (the checkout `make run` runs in).
    assert find_token(LOCAL, {}, cwd) == "local-token"
    assert find_token("localhost:9000", {}, cwd) == "local-token"
    assert find_token("http://[::1]:8080", {}, cwd) == "local-token"
    assert find_token(LOCAL, {}, tmp_path.parent) is None


def test_a_local_token_is_not_sent_to_another_machine(tmp_path: Path) -> None:
    cwd = local_stack(tmp_path)
    assert find_token("https://simlab.example.com", {}, cwd) is None
    assert find_token("10.0.0.5:8080", {}, cwd) is None
    assert find_token("https://simlab.example.com", {"SIMLAB_TOKEN": "t"}, cwd) == "t"


def test_an_unreadable_token_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(SimlabError, match=r"SIMLAB_TOKEN_FILE .*missing"):
        find_token(LOCAL, {"SIMLAB_TOKEN_FILE": str(tmp_path / "missing")}, tmp_path)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SimlabError, match="empty"):
        find_token(LOCAL, {"SIMLAB_TOKEN_FILE": str(tmp_path / "empty")}, tmp_path)


def test_the_client_sends_what_it_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIMLAB_TOKEN", raising=False)
    monkeypatch.delenv("SIMLAB_TOKEN_FILE", raising=False)
    monkeypatch.chdir(local_stack(tmp_path))
    with Client(LOCAL) as client:
        assert client.metadata == (("authorization", "Bearer local-token"),)
    with Client(LOCAL, token="given") as client:
        assert client.metadata == (("authorization", "Bearer given"),)
