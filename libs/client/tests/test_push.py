"""Pushing and running your own code, against a fake gateway: the push protocol (the sha256
alone first, the files only when the server lacks them), the names, the CLI's words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from libs.client.tests.fakes import RpcError
from simlab import cli
from simlab.bundle import Bundle, from_source
from simlab.client import Client, bundle_of, model_name
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb

MODEL = "def simulate(rng, n, *, strike: float = 1.0):\n    return rng.random(n)\n"


class FakeGateway:
    """Stores bundles by sha256; a push of a stored bundle registers a version unless it is
    the latest one's code."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.versions: list[pb.Model] = []
        self.pushes: list[pb.PushModelRequest] = []
        self.submits: list[pb.SubmitJobRequest] = []

    def PushModel(self, request: pb.PushModelRequest, **_: Any) -> pb.PushModelResponse:
        self.pushes.append(pb.PushModelRequest.FromString(request.SerializeToString()))
        if request.name == "taken":
            raise RpcError(grpc.StatusCode.ALREADY_EXISTS, "the model name taken is taken")
        if request.files:
            files = {f.path: f.data for f in request.files}
            executable = frozenset(f.path for f in request.files if f.executable)
            assert Bundle(request.entry, files, executable).sha256 == request.sha256
            self.stored.add(request.sha256)
        if request.sha256 not in self.stored:
            raise RpcError(grpc.StatusCode.NOT_FOUND, f"bundle {request.sha256} is not stored")
        if self.versions and self.versions[-1].code_sha256 == request.sha256:
            return pb.PushModelResponse(model=self.versions[-1], created=False)
        model = pb.Model(
            name=request.name,
            version=len(self.versions) + 1,
            code_sha256=request.sha256,
            kind=pb.MODEL_KIND_BLOCKS,
            parameters=[pb.Parameter(name="strike", type=pb.PARAMETER_TYPE_FLOAT)],
        )
        self.versions.append(model)
        return pb.PushModelResponse(model=model, created=True)

    def GetModel(self, request: pb.GetModelRequest, **_: Any) -> pb.Model:
        for model in self.versions:
            if request.model in (model.name, f"{model.name}@v{model.version}"):
                return model
        raise RpcError(grpc.StatusCode.NOT_FOUND, f"model {request.model} not found")

    def SubmitJob(self, request: pb.SubmitJobRequest, **_: Any) -> pb.SubmitJobResponse:
        self.submits.append(request)
        job = pb.Job(job_id="j1", model=request.model.partition("@")[0], args=request.args)
        job.parameters.CopyFrom(request.parameters)
        return pb.SubmitJobResponse(job=job, created=True)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> FakeGateway:
    fake = FakeGateway()

    def client(server: str | None = None, token: str | None = None) -> Client:
        made = Client("http://simlab.test:8080", token)
        made.stub = fake  # type: ignore[assignment]
        return made

    monkeypatch.setattr(cli, "Client", client)
    return fake


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "my-asian.py").write_text("import helpers\n" + MODEL)
    (tmp_path / "helpers.py").write_text("")
    (tmp_path / "unrelated.py").write_text("")
    return tmp_path


@pytest.mark.parametrize(
    ("stem", "name"),
    [("asian", "asian"), ("my-asian", "my-asian"), ("my asian.v2", "my_asian_v2"),
     ("2024_model", "model_2024_model"), ("_x", "model__x"), ("é", "model__"),
     ("a" * 70, "a" * 64)],
)  # fmt: skip
def test_model_names_come_from_file_and_function_names(stem: str, name: str) -> None:
    assert model_name(stem) == name


def test_a_file_is_named_by_its_stem_and_a_function_by_its_name(project: Path) -> None:
    bundle, name = bundle_of(project / "my-asian.py")
    assert (name, sorted(bundle.files)) == ("my-asian", ["helpers.py", "my-asian.py"])

    def price(rng: Any, n: int) -> Any:
        return rng.random(n)

    assert bundle_of(price)[1] == "price"
    with pytest.raises(ValueError, match="include= is for files"):
        bundle_of(price, include=["*.csv"])


def test_a_push_sends_the_files_only_when_the_server_lacks_them(gateway: FakeGateway) -> None:
    client = cli.Client()
    bundle = from_source(MODEL, "m.py")
    first = client.push_bundle(bundle, "m")
    assert (first.created, first.model.version) == (True, 1)
    assert first.uploaded_bytes == len(MODEL.encode())
    assert [len(p.files) for p in gateway.pushes] == [0, 1]
    assert [p.sha256 for p in gateway.pushes] == [bundle.sha256] * 2

    again = client.push_bundle(bundle, "m")
    assert (again.created, again.model.version, again.uploaded_bytes) == (False, 1, 0)
    assert [len(p.files) for p in gateway.pushes] == [0, 1, 0]  # the sha256 was enough


def test_a_push_refused_for_another_reason_is_not_retried(gateway: FakeGateway) -> None:
    with pytest.raises(SimlabError) as error:
        cli.Client().push_bundle(from_source(MODEL, "m.py"), "taken")
    assert error.value.code is Code.ALREADY_EXISTS
    assert len(gateway.pushes) == 1


def test_the_sdk_runs_a_file_as_its_pushed_version(gateway: FakeGateway, project: Path) -> None:
    client = cli.Client()
    job = client.run(project / "my-asian.py", {"strike": 2}, seed=5, args=["--fast"])
    assert job.job_id == "j1"
    request = gateway.submits[0]
    assert (request.model, request.seed, list(request.args)) == ("my-asian@v1", 5, ["--fast"])
    assert client.push_model(project / "my-asian.py").version == 1
    assert client.get_model("my-asian@v1").code_sha256 == gateway.versions[0].code_sha256


def test_simlab_run_prints_the_files_the_version_and_the_run(
    gateway: FakeGateway,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = str(project / "my-asian.py")
    # A terminal narrower than the path: lines with paths must not wrap.
    monkeypatch.setattr(cli.out, "width", 40)
    assert cli.main(["run", entry, "-p", "strike=2.5", "--", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    sha = gateway.versions[0].code_sha256
    assert "2 files" in out and "  helpers.py" in out and "  my-asian.py" in out
    assert "unrelated.py" not in out
    assert f"my-asian@v1  {sha[:12]}  (new version, 86 bytes sent)" in out
    assert "submitted j1  http://simlab.test:8080/runs/j1" in out
    request = gateway.submits[0]
    assert request.model == "my-asian@v1"
    assert dict(request.parameters) == {"strike": 2.5}
    assert list(request.args) == ["--steps", "3"]

    assert cli.main(["models", "push", entry, "--name", "other"]) == 0
    assert f"my-asian@v1  {sha[:12]}  (unchanged, 0 bytes sent)" in capsys.readouterr().out


def test_simlab_models_push_json(
    gateway: FakeGateway, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["models", "push", str(project / "my-asian.py"), "--json", "--public"]) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["created"] is True
    assert pushed["files"] == ["helpers.py", "my-asian.py"]
    assert pushed["model"]["name"] == "my-asian" and pushed["model"]["version"] == 1
    assert gateway.pushes[-1].public


def test_simlab_submit_takes_a_version_and_script_args(
    gateway: FakeGateway, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.Client().push_model(project / "my-asian.py", name="asian")
    assert cli.main(["submit", "asian@v1", "-p", "strike=3", "--json", "--", "a", "-b"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert (job["job_id"], job["args"]) == ("j1", ["a", "-b"])
    request = gateway.submits[0]
    assert (request.model, dict(request.parameters)) == ("asian@v1", {"strike": 3.0})


def test_bundle_and_server_errors_are_one_line(
    gateway: FakeGateway, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".env").write_text("TOKEN=x")
    entry = str(project / "my-asian.py")
    assert cli.main(["run", entry, "--include", ".env"]) == 1
    assert "simlab: error: .env: .env files hold secrets" in capsys.readouterr().err
    assert cli.main(["models", "push", entry, "--name", "taken"]) == 1
    assert capsys.readouterr().err.strip() == "simlab: error: the model name taken is taken"


def test_script_args_follow_the_double_dash(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.parse_args(["run", "s.py", "--wait", "--", "--wait", "--", "x"])
    assert (args.file, args.wait, args.args) == ("s.py", True, ["--wait", "--", "x"])
    assert cli.parse_args(["submit", "m@v2"]).args == []
    with pytest.raises(SystemExit):
        cli.parse_args(["status", "j1", "--", "x"])
    assert "only run and submit take -- ARGS" in capsys.readouterr().err


def test_models_subcommands_parse() -> None:
    assert cli.parse_args(["models"]).run is cli.cmd_models
    show = cli.parse_args(["models", "show", "pi@v2", "--versions", "--json"])
    assert (show.run, show.model, show.versions, show.json) == (
        cli.cmd_models_show, "pi@v2", True, True,
    )  # fmt: skip
    push = cli.parse_args(["models", "push", "a.py", "--include", "d/*", "--include", "e"])
    assert (push.run, push.include) == (cli.cmd_models_push, ["d/*", "e"])
