import hashlib
import importlib.util
import io
import re
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from simlab.bundle import (
    DEFAULT_MAX_BYTES,
    MANIFEST,
    Bundle,
    BundleError,
    check,
    collect,
    extract,
    from_function,
    from_source,
    read_archive,
)

MODEL = b"def simulate(rng, n):\n    return rng.random(n)\n"


def test_the_same_files_in_any_order_make_the_same_bundle() -> None:
    one = Bundle("m.py", {"m.py": MODEL, "lib/a.py": b"A = 1\n", "b.txt": b"b"})
    other = Bundle("m.py", {"b.txt": b"b", "lib/a.py": b"A = 1\n", "m.py": MODEL})
    assert one.archive() == other.archive()
    assert one.sha256 == other.sha256 == hashlib.sha256(one.archive()).hexdigest()
    assert one.size == len(one.archive())


def test_the_archive_bytes_are_pinned() -> None:
    """Client and gateway hash the same bytes: any change to the format changes every
    bundle's identity, so it must be deliberate."""
    bundle = Bundle("m.py", {"m.py": b"x = 1\n", "run.sh": b"#!/bin/sh\n"}, frozenset({"run.sh"}))
    assert bundle.sha256 == "33483508361ea16396d10476aa3c6afb5388f2ebdf9c6b93b67b24dfd1bf0f54"


def test_the_archive_is_a_plain_ustar_with_fixed_headers() -> None:
    bundle = Bundle("m.py", {"m.py": MODEL, "run.sh": b"#!/bin/sh\n"}, frozenset({"run.sh"}))
    with tarfile.open(fileobj=io.BytesIO(bundle.archive())) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [MANIFEST, "m.py", "run.sh"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
        assert [m.mode for m in members] == [0o644, 0o644, 0o755]
        manifest = tar.extractfile(MANIFEST)
        assert manifest is not None and manifest.read() == b'{"entry":"m.py"}'


def test_different_content_entry_or_mode_is_a_different_bundle() -> None:
    base = Bundle("m.py", {"m.py": MODEL, "n.py": MODEL})
    assert base.sha256 != Bundle("m.py", {"m.py": MODEL, "n.py": MODEL + b"\n"}).sha256
    assert base.sha256 != Bundle("n.py", {"m.py": MODEL, "n.py": MODEL}).sha256
    assert base.sha256 != Bundle("m.py", {"m.py": MODEL, "n.py": MODEL}, frozenset({"n.py"})).sha256


def test_the_files_cannot_change_under_the_cached_archive() -> None:
    files = {"m.py": MODEL}
    bundle = Bundle("m.py", files)
    files["m.py"] = b"changed"
    assert bundle.files["m.py"] == MODEL
    with pytest.raises(TypeError):
        bundle.files["m.py"] = b"changed"  # type: ignore[index]


@pytest.mark.parametrize(
    ("files", "entry", "message"),
    [
        ({"m.py": MODEL}, "other.py", "'other.py' is not one of the bundle's files"),
        ({"m.txt": MODEL}, "m.txt", "'m.txt' is not a .py file"),
        ({"m.py": MODEL, "/etc/x.py": b""}, "m.py", "relative, '/'-separated"),
        ({"m.py": MODEL, "a\\b.py": b""}, "m.py", "without backslashes"),
        ({"m.py": MODEL, "../x.py": b""}, "m.py", "no empty, '.' or '..' parts"),
        ({"m.py": MODEL, "a//x.py": b""}, "m.py", "no empty, '.' or '..' parts"),
        ({"m.py": MODEL, "a/": b""}, "m.py", "no empty, '.' or '..' parts"),
        ({"m.py": MODEL, "": b""}, "m.py", "relative"),
        ({"m.py": MODEL, MANIFEST: b"{}"}, "m.py", "reserved for the bundle's manifest"),
        ({"m.py": MODEL, "x" * 101: b""}, "m.py", "too long for the archive"),
        ({"m.py": MODEL, ".git/config": b""}, "m.py", ".git/ is never bundled"),
        ({"m.py": MODEL, "sub/.git/HEAD": b""}, "m.py", ".git/ is never bundled"),
        ({"m.py": MODEL, ".env": b"TOKEN=1"}, "m.py", ".env files hold secrets"),
        ({"m.py": MODEL, "conf/.env.local": b""}, "m.py", ".env files hold secrets"),
        ({"m.py": MODEL, "server.pem": b""}, "m.py", "looks like a key or certificate"),
        ({"m.py": MODEL, "tls/server.key": b""}, "m.py", "looks like a key or certificate"),
        ({"m.py": MODEL, "id_rsa": b""}, "m.py", "looks like a key or certificate"),
        ({"m.py": MODEL, "id_ed25519.pub": b""}, "m.py", "looks like a key or certificate"),
        ({"m.py": MODEL, "cert.p12": b""}, "m.py", "looks like a key or certificate"),
        ({"m.py": MODEL, "cert.pfx": b""}, "m.py", "looks like a key or certificate"),
        (
            {"m.py": MODEL, "notes.txt": b"x\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc"},
            "m.py",
            "notes.txt: contains a private key",
        ),
        ({"m.py": MODEL, "a": b"", "a/b.py": b""}, "m.py", "a is a file, not a directory"),
    ],
)
def test_check_refuses(files: dict[str, bytes], entry: str, message: str) -> None:
    with pytest.raises(BundleError, match=re.escape(message)):
        check(files, entry)


def test_check_accepts_an_ordinary_project() -> None:
    check(
        {"m.py": MODEL, "lib/__init__.py": b"", "data/table.csv": b"a,b\n", ".envrc": b""}, "m.py"
    )


def test_a_bundle_over_the_limit_names_its_largest_files() -> None:
    files = {"m.py": MODEL, **{f"data/{i}.bin": b"x" * (100 + i) for i in range(7)}}
    with pytest.raises(BundleError) as error:
        check(files, "m.py", max_bytes=500)
    message = str(error.value)
    assert "more than the limit of 500" in message
    assert "data/6.bin (106 bytes), data/5.bin (105 bytes)" in message
    assert "data/2.bin (102 bytes)" in message and "data/1.bin" not in message
    assert DEFAULT_MAX_BYTES == 20 * 1024 * 1024


def test_from_source_is_one_checked_file() -> None:
    bundle = from_source("x = 1\n", "pi.py")
    assert (bundle.entry, dict(bundle.files)) == ("pi.py", {"pi.py": b"x = 1\n"})
    assert from_source("x = 1\n").entry == "model.py"
    with pytest.raises(BundleError):
        from_source("x = 1\n", "pi.txt")


def test_an_archive_reads_back_to_the_same_bundle() -> None:
    bundle = Bundle(
        "m.py", {"m.py": MODEL, "lib/a.py": b"A = 1\n", "run.sh": b"#!"}, frozenset({"run.sh"})
    )
    again = read_archive(bundle.archive(), bundle.sha256)
    assert again == bundle
    assert again.executable == {"run.sh"}
    assert read_archive(bundle.archive()).sha256 == bundle.sha256


def test_an_archive_with_another_hash_is_refused() -> None:
    bundle = from_source("x = 1\n")
    with pytest.raises(BundleError, match=r"sha256 is \w+, expected 00"):
        read_archive(bundle.archive(), "00" * 32)


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def test_archive_paths_that_escape_are_refused() -> None:
    manifest = _file(MANIFEST, b'{"entry":"m.py"}')
    with pytest.raises(BundleError, match=re.escape("'..' parts")):
        read_archive(_tar(manifest, _file("m.py", MODEL), _file("../evil.py", b"")))
    with pytest.raises(BundleError, match="relative"):
        read_archive(_tar(manifest, _file("m.py", MODEL), _file("/tmp/evil.py", b"")))
    link = tarfile.TarInfo("lib")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc"
    with pytest.raises(BundleError, match="regular files only"):
        read_archive(_tar(manifest, _file("m.py", MODEL), (link, b"")))
    folder = tarfile.TarInfo("lib")
    folder.type = tarfile.DIRTYPE
    with pytest.raises(BundleError, match="regular files only"):
        read_archive(_tar(manifest, _file("m.py", MODEL), (folder, b"")))


def test_archives_that_are_no_bundle_are_refused() -> None:
    with pytest.raises(BundleError, match="not a bundle archive"):
        read_archive(b"not a tar at all" * 100)
    with pytest.raises(BundleError, match=re.escape("no .simlab-bundle.json")):
        read_archive(_tar(_file("m.py", MODEL)))
    with pytest.raises(BundleError, match="not one of the bundle's files"):
        read_archive(_tar(_file(MANIFEST, b'{"entry":"x.py"}'), _file("m.py", MODEL)))
    # The right files in another order: not the bytes the files make.
    with pytest.raises(BundleError, match="not a canonical bundle"):
        read_archive(_tar(_file("m.py", MODEL), _file(MANIFEST, b'{"entry":"m.py"}')))


def test_extract_writes_the_files_and_returns_the_entry(tmp_path: Path) -> None:
    bundle = Bundle(
        "pkg/m.py", {"pkg/m.py": MODEL, "run.sh": b"#!/bin/sh\n"}, frozenset({"run.sh"})
    )
    entry = extract(bundle, tmp_path)
    assert entry == tmp_path / "pkg" / "m.py"
    assert entry.read_bytes() == MODEL
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o755
    assert entry.stat().st_mode & 0o777 == 0o644
    assert not (tmp_path / MANIFEST).exists()


# ---- collect ---------------------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_collect_takes_the_file_and_what_it_imports_transitively(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "asian.py": "import numpy as np\nimport helpers\nfrom pricing import paths\n",
            "helpers.py": "import os\ndef f():\n    import lazy\n",
            "lazy.py": "",
            "pricing/__init__.py": "from .core import drift\n",
            "pricing/core.py": "from . import units\nfrom ..outside import x\n",
            "pricing/units.py": "",
            "pricing/paths.py": "from .maths.stats import mean\n",
            "pricing/maths/stats.py": "",
            "pricing/unused.py": "",
            "unused.py": "",
            "notes.txt": "",
        },
    )
    bundle = collect(tmp_path / "asian.py")
    assert bundle.entry == "asian.py"
    assert sorted(bundle.files) == [
        "asian.py",
        "helpers.py",
        "lazy.py",
        "pricing/__init__.py",
        "pricing/core.py",
        "pricing/maths/stats.py",
        "pricing/paths.py",
        "pricing/units.py",
    ]
    assert bundle.files["helpers.py"] == b"import os\ndef f():\n    import lazy\n"


def test_collect_from_a_subdirectory_bundles_only_that_tree(tmp_path: Path) -> None:
    _tree(
        tmp_path, {"sub/m.py": "import sibling\nimport top\n", "sub/sibling.py": "", "top.py": ""}
    )
    assert sorted(collect(tmp_path / "sub" / "m.py").files) == ["m.py", "sibling.py"]


def test_collect_adds_included_globs_and_honours_gitignore(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "m.py": "import gen\nimport kept\n",
            "gen.py": "",
            "kept.py": "",
            "data/a.csv": "1",
            "data/big.csv": "2",
            "data/deep/b.csv": "3",
            "data/.gitignore": "deep/\n",
            ".gitignore": "gen.py\nbig.csv\n",
            "configs/x.toml": "",
            "configs/__pycache__/x.pyc": "",
        },
    )
    bundle = collect(tmp_path / "m.py", include=["data/*.csv", "configs"])
    assert sorted(bundle.files) == ["configs/x.toml", "data/a.csv", "kept.py", "m.py"]


def test_collect_keeps_the_executable_bit(tmp_path: Path) -> None:
    _tree(tmp_path, {"m.py": "", "run.sh": "#!/bin/sh\n"})
    (tmp_path / "run.sh").chmod(0o755)
    assert collect(tmp_path / "m.py", include=["run.sh"]).executable == {"run.sh"}


def test_collect_refuses_what_it_cannot_bundle(tmp_path: Path) -> None:
    _tree(
        tmp_path, {"m.py": "import os\n", "broken.py": "def (:\n", ".env": "T=1", "x.txt": "data"}
    )
    with pytest.raises(BundleError, match="no such file"):
        collect(tmp_path / "missing.py")
    with pytest.raises(BundleError, match=re.escape("matches no file")):
        collect(tmp_path / "m.py", include=["*.csv"])
    with pytest.raises(BundleError, match="relative to"):
        collect(tmp_path / "m.py", include=["../*"])
    with pytest.raises(BundleError, match=re.escape(".env files hold secrets")):
        collect(tmp_path / "m.py", include=[".env"])
    with pytest.raises(BundleError, match=re.escape("broken.py:1")):
        collect(tmp_path / "broken.py")
    with pytest.raises(BundleError, match="more than the limit of 10"):
        collect(tmp_path / "m.py", include=["x.txt"], max_bytes=10)
    with pytest.raises(BundleError, match=re.escape("not a .py file")):
        collect(tmp_path / "x.txt")


# ---- from_function ---------------------------------------------------------------------------

NOTEBOOK = '''
"""Not the model's docstring: the function's is."""
import math
from typing import Annotated, Literal

import numpy as np
import numpy.random as npr
from numpy import exp

import simlab

SIGMA = 0.2
LEVELS = (1, 2.5, "x", None, (True,))
SAMPLES = 5000
ROWS = [1, 2]
UNUSED = object()


class Payoff:
    def __init__(self, strike):
        self.strike = strike

    def __call__(self, x):
        return np.maximum(x - self.strike, 0.0)


class Call(Payoff):
    pass


def helper(x):
    return exp(x * SIGMA) * len(LEVELS) / len(LEVELS)


def price(
    rng,
    n,
    *,
    strike: Annotated[float, simlab.Param(gt=0)] = 1.0,
    kind: Literal["call"] = "call",
):
    """A call.

    Priced the slow way."""
    ROWS = 3  # a local: not the global list
    x = rng.normal(size=n) * ROWS / ROWS
    return Call(strike)(helper(x)) + 0 * math.pi


def simulate(rng, n):
    return npr.default_rng(0).random(n) + rng.random(n) * 0


def uses_rows(rng, n):
    return np.array(ROWS * n)


def make_closure():
    k = 2

    def inner(rng, n):
        return rng.random(n) * k

    return inner


lam = lambda rng, n: rng.random(n)  # noqa: E731
'''


@pytest.fixture
def notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A module made from a generated file, as a notebook's functions live in one."""
    path = tmp_path / "notebook_module.py"
    path.write_text(NOTEBOOK)
    spec = importlib.util.spec_from_file_location("notebook_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "notebook_module", module)
    spec.loader.exec_module(module)
    return module


def _run(bundle: Bundle) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(bundle.files[bundle.entry], bundle.entry, "exec"), namespace)
    return namespace


def test_a_function_ships_as_source_with_what_it_uses(notebook: ModuleType) -> None:
    bundle = from_function(notebook.price)
    assert (bundle.entry, list(bundle.files)) == ("model.py", ["model.py"])
    source = bundle.files["model.py"].decode()
    assert source.startswith('"""A call.\n\nPriced the slow way."""\n\nimport math\n')
    for line in (
        "import math",
        "import numpy as np",
        "import simlab",
        "from numpy import exp",
        "from typing import Annotated",
        "from typing import Literal",
        "SIGMA = 0.2",
        "LEVELS = (1, 2.5, 'x', None, (True,))",
        "SAMPLES = 5000",
        "simulate = price",
    ):
        assert line in source.splitlines()
    assert "ROWS = [" not in source and "UNUSED" not in source and "npr" not in source
    assert source.index("class Payoff") < source.index("class Call(Payoff)")
    namespace = _run(bundle)
    rng = np.random.default_rng
    assert np.array_equal(namespace["simulate"](rng(1), 5), notebook.price(rng(1), 5))
    assert namespace["__doc__"] == "A call.\n\nPriced the slow way."


def test_a_function_named_simulate_is_the_model(notebook: ModuleType) -> None:
    source = from_function(notebook.simulate).files["model.py"].decode()
    assert "import numpy.random as npr" in source
    assert "simulate = " not in source
    rng = np.random.default_rng
    assert np.array_equal(_run(from_function(notebook.simulate))["simulate"](rng(2), 3),
                          notebook.simulate(rng(2), 3))  # fmt: skip


def test_the_same_function_makes_the_same_bundle(notebook: ModuleType) -> None:
    assert from_function(notebook.price).sha256 == from_function(notebook.price).sha256


def test_what_cannot_ship_as_source_is_named(notebook: ModuleType) -> None:
    with pytest.raises(BundleError, match="uses_rows uses the global 'ROWS', a list"):
        from_function(notebook.uses_rows)
    with pytest.raises(BundleError, match=r"inner is a closure .*uses k"):
        from_function(notebook.make_closure())
    with pytest.raises(BundleError, match="is a lambda"):
        from_function(notebook.lam)
    with pytest.raises(BundleError, match="not a function"):
        from_function(notebook.Call(1).__call__)
