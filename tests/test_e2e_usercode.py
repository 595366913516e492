"""End to end: analysts' own code through the CLI and the SDK, against the embedded stack
started like `make run` — push, register in the sandbox, run sharded, scripts, bad input and
who may see what."""

from __future__ import annotations

import linecache
import math
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import norm

from simlab.bundle import BundleError, collect, from_source, read_archive
from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from tests.test_e2e_cli import as_json, simlab

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).parent.parent / "examples"

# An analytic model written only here: the mean of an exponential, with a helper module and
# an annotated, bounded parameter.
EXPONENTIAL = '''
"""Mean of an exponential distribution (closed form: the scale)."""
from typing import Annotated, Literal

import numpy as np

import simlab
from helpers import draw

BLOCK_SIZE = 20_000
SAMPLES = 400_000


def simulate(
    rng: np.random.Generator,
    n: int,
    *,
    scale: Annotated[float, simlab.Param(gt=0, le=100, unit="s", help="Mean time")] = 2.0,
    shape: Literal["exponential", "constant"] = "exponential",
):
    values = draw(rng, n, scale) if shape == "exponential" else np.full(n, scale)
    return {"time": values, "squared": values**2}
'''
HELPERS = """
def draw(rng, n, scale):
    return rng.exponential(scale, n)
"""


def geometric_asian_call(
    spot: float, strike: float, rate: float, volatility: float, maturity: float, steps: int
) -> float:
    """Kemna-Vorst: the geometric average of log-normal prices is log-normal."""
    mean = math.log(spot) + (rate - volatility**2 / 2) * maturity * (steps + 1) / (2 * steps)
    var = volatility**2 * maturity * (steps + 1) * (2 * steps + 1) / (6 * steps**2)
    d1 = (mean - math.log(strike) + var) / math.sqrt(var)
    d2 = d1 - math.sqrt(var)
    forward = math.exp(mean + var / 2)
    return math.exp(-rate * maturity) * (forward * norm.cdf(d1) - strike * norm.cdf(d2))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "exponential.py").write_text(EXPONENTIAL)
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "notes.txt").write_text("not imported, not bundled\n")
    return tmp_path


def test_run_a_file_sharded_bit_identical_and_correct(stack: Stack, project: Path) -> None:
    runs = []
    for shards in ("1", "4"):
        runs.append(as_json(simlab(
            stack, "run", str(project / "exponential.py"), "-p", "scale=3",
            "--shards", shards, "--seed", "5", "--wait", "--json",
        )))  # fmt: skip
    one, four = runs
    assert one["status"] == four["status"] == "SUCCEEDED"
    assert one["summary"] == four["summary"]
    summary = one["summary"]
    assert abs(summary["time"] - 3.0) < 4 * summary["time_stderr"]
    assert abs(summary["squared"] - 18.0) < 4 * summary["squared_stderr"]
    assert summary["samples"] == 400_000

    with Client(stack.url, token=stack.token) as client:
        job = client.get(one["job_id"])
        model = client.get_model("exponential")
    assert job.model == "exponential" and job.model_version == model.version
    assert job.code_sha256 == model.code_sha256 and job.runtime
    assert sorted(model.files) == ["exponential.py", "helpers.py"]
    assert model.kind == pb.MODEL_KIND_BLOCKS and model.reproducible
    params = {p.name: p for p in model.parameters}
    assert params["scale"].exclusive_minimum and params["scale"].minimum == 0
    assert params["scale"].maximum == 100 and params["scale"].unit == "s"
    assert list(params["shape"].choices) == ["exponential", "constant"]
    assert params["samples"].is_sample_count and params["samples"].default.number_value == 400_000


def test_push_unchanged_is_the_same_version_and_a_change_is_a_new_one(
    stack: Stack, project: Path
) -> None:
    entry = project / "exponential.py"
    first = as_json(simlab(stack, "models", "push", str(entry), "--name", "versioned", "--json"))
    again = as_json(simlab(stack, "models", "push", str(entry), "--name", "versioned", "--json"))
    assert again["version"] == first["version"] and again["created"] is False
    assert again["uploaded_bytes"] == 0
    old_run = as_json(simlab(stack, "submit", f"versioned@v{first['version']}", "-p",
                             "samples=40000", "--wait", "--json"))  # fmt: skip

    entry.write_text(EXPONENTIAL.replace("SAMPLES = 400_000", "SAMPLES = 200_000"))
    changed = as_json(simlab(stack, "models", "push", str(entry), "--name", "versioned", "--json"))
    assert changed["version"] == first["version"] + 1 and changed["created"] is True
    assert changed["sha256"] != first["sha256"]
    with Client(stack.url, token=stack.token) as client:
        assert client.get(old_run["job_id"]).model_version == first["version"]
        latest = client.get_model("versioned")
        assert latest.version == changed["version"]
        assert [v.version for v in client.list_model_versions("versioned")] == [
            changed["version"], first["version"],
        ]  # fmt: skip


def test_the_asian_example_prices_within_four_standard_errors(stack: Stack) -> None:
    done = as_json(simlab(stack, "run", str(EXAMPLES / "asian_option.py"), "-p", "strike=95",
                          "--shards", "2", "--seed", "3", "--wait", "--json"))  # fmt: skip
    summary = done["summary"]
    exact = geometric_asian_call(100, 95, 0.05, 0.2, 1.0, 12)
    assert abs(summary["value"] - exact) < 4 * summary["value_stderr"]


def test_the_rosenbrock_script_runs_unchanged(stack: Stack, tmp_path: Path) -> None:
    done = as_json(simlab(stack, "run", str(EXAMPLES / "rosenbrock_script.py"),
                          "-p", "starts=6", "-p", "dimensions=2", "--wait", "--json"))  # fmt: skip
    assert done["status"] == "SUCCEEDED", done
    assert done["summary"]["starts"] == 6
    assert done["summary"]["distance_to_optimum"] < 1e-3
    with Client(stack.url, token=stack.token) as client:
        names = {a.name for a in client.artifacts(done["job_id"])}
        assert {"plot.png", "summary.json"} <= names
        assert client.read(done["job_id"], "plot.png").startswith(b"\x89PNG")
        points = client.progress_history(done["job_id"])
        assert [p.samples_done for p in points][-1] == 6
        assert b"start 6/6" in b"".join(c.data for c in client.logs(done["job_id"]))


def test_a_script_gets_its_arguments_and_fails_with_its_log_tail(
    stack: Stack, tmp_path: Path
) -> None:
    script = tmp_path / "argv.py"
    script.write_text(
        textwrap.dedent("""
        import sys

        import matplotlib
        import pandas
        import scipy
        # The runtime has what analysts use, with no install at run time.
        print("versions:", pandas.__version__, scipy.__version__, matplotlib.__version__)
        print("args:", sys.argv[1:], flush=True)
        raise SystemExit(3 if "--fail" in sys.argv else 0)
    """)
    )
    ok = as_json(simlab(stack, "run", str(script), "--wait", "--json", "--", "a", "b c"))
    assert ok["status"] == "SUCCEEDED"
    failed = simlab(stack, "run", str(script), "--wait", "--json", "--", "--fail", check=False)
    job = as_json(failed)
    assert failed.returncode == 1 and job["status"] == "FAILED"
    assert "exited with code 3" in job["error"]["message"]
    assert "args: ['--fail']" in job["error"]["log_tail"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def simulate(rng, n, *, x: float = 1.0)\n    return rng.random(n)\n", "model.py:1"),
        (
            "import quantlib_not_here\n\ndef simulate(rng, n):\n    return rng.random(n)\n",
            "quantlib_not_here",
        ),
        ("def simulate(rng, n, *, steps: list = 3):\n    return rng.random(n)\n", "steps"),
        ("def simulate(rng, n):\n    return rng.random((n, 2))\n", "1-D"),
    ],
    ids=["syntax", "missing-package", "bad-annotation", "wrong-shape"],
)
def test_registration_refuses_bad_code_with_a_precise_message(
    stack: Stack, tmp_path: Path, source: str, message: str
) -> None:
    with Client(stack.url, token=stack.token) as client:
        before = {m.name for m in client.list_models()}
        with pytest.raises(SimlabError) as refused:
            # As the web page sends it: the server's sandbox finds what is wrong.
            client.push_bundle(from_source(source, "model.py"), f"bad_{tmp_path.name[-6:]}")
        assert refused.value.code == Code.INVALID_ARGUMENT
        assert message in refused.value.message
        assert {m.name for m in client.list_models()} == before


def test_a_syntax_error_is_found_before_anything_is_sent(tmp_path: Path) -> None:
    entry = tmp_path / "model.py"
    entry.write_text("def simulate(rng, n)\n    return rng.random(n)\n")
    with pytest.raises(BundleError, match=r"model.py:1"):
        collect(entry)


def test_non_deterministic_code_registers_with_a_warning(stack: Stack, tmp_path: Path) -> None:
    entry = tmp_path / "noisy.py"
    entry.write_text(
        "import numpy as np\n\ndef simulate(rng, n):\n    return np.random.random(n)\n"
    )
    with Client(stack.url, token=stack.token) as client:
        model = client.push_model(entry)
    assert not model.reproducible
    assert any("determin" in w for w in model.warnings)


def test_secrets_and_oversized_bundles_are_refused_before_upload(
    stack: Stack, project: Path
) -> None:
    (project / ".env").write_text("TOKEN=hunter2\n")
    refused = simlab(stack, "models", "push", str(project / "exponential.py"),
                     "--include", ".env", check=False)  # fmt: skip
    assert refused.returncode == 1 and ".env" in refused.stderr
    (project / "big.bin").write_bytes(b"\0" * (21 * 1024 * 1024))
    refused = simlab(stack, "models", "push", str(project / "exponential.py"),
                     "--include", "*.bin", check=False)  # fmt: skip
    assert refused.returncode == 1 and "big.bin" in refused.stderr


def test_a_notebook_function_ships_as_source(stack: Stack) -> None:
    # What IPython does with a cell: compile it under a pseudo file name whose lines it keeps
    # in linecache, so inspect.getsource finds the source of what the cell defines.
    source = textwrap.dedent("""
        import numpy as np
        OFFSET = 1.5

        def shifted(rng, n):
            return rng.random(n) + OFFSET

        def my_model(rng, n, *, width: float = 2.0):
            return shifted(rng, n) * width
    """)
    filename = "<ipython-input-7-0123456789ab>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    cell = types.ModuleType("__main__")
    exec(compile(source, filename, "exec"), cell.__dict__)
    with Client(stack.url, token=stack.token) as client:
        job = client.run(cell.my_model, {"samples": 100_000}, seed=9, name="notebook_fn", wait=True)
        assert job.state == pb.JOB_STATE_SUCCEEDED, job.error.message
        summary: dict[str, Any] = client.summary(job.job_id)
    assert abs(summary["value"] - 4.0) < 4 * summary["value_stderr"]


def test_private_models_are_invisible_to_others_and_public_ones_run(
    stack: Stack, project: Path, alice: Client, bob: Client
) -> None:
    entry = project / "exponential.py"
    private = alice.push_model(entry, name="alices_private")
    public = alice.push_model(entry, name="alices_public", public=True)
    assert private.owner == "alice" and not private.public and public.public

    with pytest.raises(SimlabError) as hidden:
        bob.get_model("alices_private")
    assert hidden.value.code == Code.NOT_FOUND
    with pytest.raises(SimlabError) as unknown:
        bob.submit("alices_private", {"samples": 20_000})
    with pytest.raises(SimlabError) as nonexistent:
        bob.submit("no_such_model_anywhere", {"samples": 20_000})
    # Exactly as if it did not exist: nothing tells bob the name is alice's.
    assert unknown.value.code == nonexistent.value.code == Code.INVALID_ARGUMENT
    assert unknown.value.field == nonexistent.value.field == "model"
    assert "alices_private" not in {m.name for m in bob.list_models()}
    with pytest.raises(SimlabError) as taken:
        bob.push_model(entry, name="alices_private")
    assert taken.value.code == Code.ALREADY_EXISTS

    job = bob.wait(bob.submit("alices_public", {"samples": 20_000}, seed=1).job_id, progress=False)
    assert job.state == pb.JOB_STATE_SUCCEEDED and job.owner == "bob"


def test_the_code_that_ran_downloads_by_share_link(
    stack: Stack, project: Path, alice: Client
) -> None:
    import urllib.request

    job = alice.run(project / "exponential.py", {"samples": 20_000}, name="shared_code", wait=True)
    token = alice.share(job.job_id).token
    url = f"{stack.url}/code/jobs/{job.job_id}/exponential.py?share={token}"
    with urllib.request.urlopen(url) as response:
        assert response.read() == (project / "exponential.py").read_bytes()
    archive = f"{stack.url}/code/jobs/{job.job_id}?share={token}"
    with urllib.request.urlopen(archive) as response:
        assert 'filename="shared_code@v1.tar"' in response.headers["Content-Disposition"]
        bundle = read_archive(response.read(), job.code_sha256)
    assert bundle.files["exponential.py"] == (project / "exponential.py").read_bytes()
