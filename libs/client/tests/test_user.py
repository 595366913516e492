import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simlab
from simlab import user


def test_the_user_api_is_on_the_package() -> None:
    assert simlab.Param is user.Param
    assert simlab.params is user.params
    assert simlab.report is user.report
    with pytest.raises(AttributeError):
        simlab.nothing  # noqa: B018


def test_param_holds_bounds_and_words() -> None:
    param = simlab.Param(gt=0, le=5, unit="m", help="how far", label="Distance")
    assert (param.gt, param.ge, param.lt, param.le) == (0, None, None, 5)
    assert (param.unit, param.help, param.label) == ("m", "how far", "Distance")


def test_params_are_empty_outside_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIMLAB_PARAMS", raising=False)
    assert simlab.params() == {}
    monkeypatch.setenv("SIMLAB_PARAMS", '{"steps": 12, "kind": "call"}')
    assert simlab.params() == {"steps": 12, "kind": "call"}
    monkeypatch.setenv("SIMLAB_PARAMS", "[1]")
    with pytest.raises(ValueError, match="JSON object"):
        simlab.params()


def test_reports_append_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIMLAB_REPORT_FILE", raising=False)
    simlab.report(done=1)  # outside the platform: nothing happens
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("SIMLAB_REPORT_FILE", str(path))
    simlab.report(done=10, total=100)
    count: Any = np.int64(20)  # NumPy's integers too
    simlab.report(done=count, total=100, estimate=np.float64(3.5), stderr=0.1)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"done": 10, "total": 100, "estimate": None, "stderr": None},
        {"done": 20, "total": 100, "estimate": 3.5, "stderr": 0.1},
    ]


def test_a_report_that_cannot_be_written_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(user, "_warned", False)
    monkeypatch.setenv("SIMLAB_REPORT_FILE", str(tmp_path / "missing" / "report.jsonl"))
    simlab.report(done=1)
    simlab.report(done=2)
    assert capsys.readouterr().err.count("simlab.report: cannot write progress") == 1
