"""Bundles: the files of one model version and its manifest, as one deterministic archive.

The CLI builds a bundle from your files, the gateway rebuilds it from the files it receives,
and both must get the same bytes, hence the same sha256 (the bundle's identity): an
uncompressed USTAR tar, entries sorted by path, every header field fixed (mtime 0, owner 0,
no user or group names, mode 0644 or 0755), regular files only, plus a manifest member
naming the entry file."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import io
import json
import math
import os
import re
import tarfile
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import CodeType, MappingProxyType
from typing import Any

import pathspec

MANIFEST = ".simlab-bundle.json"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Names that hold secrets, never code: refused, so that a key does not end up on the server.
SECRET_NAMES = ("*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p12", "*.pfx")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


class BundleError(ValueError):
    """The code cannot be bundled; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Bundle:
    """The code of a model version: `files` (relative "/" paths -> bytes, the manifest
    excluded), of which `entry` is the module with simulate / MODEL, or the script."""

    entry: str
    files: Mapping[str, bytes]
    executable: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        # A private, read-only copy: the archive is cached, so the files must not change.
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "executable", frozenset(self.executable))

    def archive(self) -> bytes:
        """The deterministic tar of the files and the manifest."""
        return self._archive

    @property
    def sha256(self) -> str:
        """The bundle's identity: sha256 (hex) of its archive."""
        return self._sha256

    @property
    def size(self) -> int:
        """The archive's size in bytes."""
        return len(self._archive)

    @cached_property
    def _archive(self) -> bytes:
        members = {path: (data, path in self.executable) for path, data in self.files.items()}
        members[MANIFEST] = (manifest(self.entry), False)
        buffer = io.BytesIO()
        with tarfile.open(
            fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT, encoding="utf-8"
        ) as tar:
            for path in sorted(members):
                data, executable = members[path]
                tar.addfile(_header(path, len(data), executable), io.BytesIO(data))
        return buffer.getvalue()

    @cached_property
    def _sha256(self) -> str:
        return hashlib.sha256(self._archive).hexdigest()


def manifest(entry: str) -> bytes:
    return json.dumps({"entry": entry}, sort_keys=True, separators=(",", ":")).encode()


def _header(path: str, size: int, executable: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = 0o755 if executable else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def check_path(path: str) -> None:
    """Refuses a path that is not a plain relative "/" path the archive can hold."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise BundleError(
            f"{path!r}: bundle paths are relative, '/'-separated, without backslashes"
        )
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BundleError(f"{path!r}: bundle paths have no empty, '.' or '..' parts")
    if path == MANIFEST:
        raise BundleError(f"{path!r}: the name is reserved for the bundle's manifest")
    try:
        _header(path, 0, False).tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
    except ValueError:
        raise BundleError(
            f"{path!r}: the path is too long for the archive (at most 100 characters per "
            "name, 255 in all); rename or move the file"
        ) from None


def _refuse_secret(path: str, data: bytes) -> None:
    parts = path.split("/")
    name = parts[-1]
    if ".git" in parts:
        raise BundleError(f"{path}: .git/ is never bundled; leave it out")
    if name == ".env" or name.startswith(".env."):
        raise BundleError(f"{path}: .env files hold secrets and are never bundled; leave it out")
    if any(PurePosixPath(name).match(pattern) for pattern in SECRET_NAMES):
        raise BundleError(
            f"{path}: looks like a key or certificate ({', '.join(SECRET_NAMES)}) and is "
            "never bundled; leave it out"
        )
    if PRIVATE_KEY.search(data):
        raise BundleError(f"{path}: contains a private key and is never bundled; remove the key")


def _refuse_clashes(paths: Iterable[str]) -> None:
    """Refuses a file whose path is another file's directory (`a` beside `a/b.py`)."""
    known = set(paths)
    for path in known:
        parts = path.split("/")
        for end in range(1, len(parts)):
            if "/".join(parts[:end]) in known:
                raise BundleError(f"{path}: {'/'.join(parts[:end])} is a file, not a directory")


def check(files: Mapping[str, bytes], entry: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Refuses what a bundle must not be: no such entry or not a .py file, odd paths,
    secrets (.git/, .env, keys), more than max_bytes in all."""
    if not entry.endswith(".py"):
        raise BundleError(f"the entry {entry!r} is not a .py file; give the Python file to run")
    if entry not in files:
        raise BundleError(f"the entry {entry!r} is not one of the bundle's files")
    for path, data in files.items():
        check_path(path)
        _refuse_secret(path, data)
    _refuse_clashes(files)
    total = sum(len(data) for data in files.values())
    if total > max_bytes:
        largest = sorted(files, key=lambda path: (-len(files[path]), path))[:5]
        sizes = ", ".join(f"{path} ({len(files[path]):,} bytes)" for path in largest)
        raise BundleError(
            f"the bundle is {total:,} bytes, more than the limit of {max_bytes:,}; "
            f"the largest files: {sizes}. Leave data out (.gitignore) and read it at run time"
        )


def from_source(source: str, entry: str = "model.py") -> Bundle:
    """A bundle of one file: `source` as `entry`."""
    files = {entry: source.encode()}
    check(files, entry)
    return Bundle(entry, files)


def read_archive(data: bytes, expected_sha256: str | None = None) -> Bundle:
    """The bundle of an archive that Bundle.archive made: checks that its sha256 is the
    expected one, and refuses anything but regular files at safe paths."""
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise BundleError(f"the bundle's sha256 is {digest}, expected {expected_sha256}")
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    entry: str | None = None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if not member.isreg():
                    raise BundleError(f"{member.name!r}: a bundle holds regular files only")
                content = tar.extractfile(member)
                assert content is not None  # a regular file has content
                if member.name == MANIFEST:
                    entry = _entry_of(content.read())
                    continue
                check_path(member.name)
                if member.name in files:
                    raise BundleError(f"{member.name!r}: the bundle holds it twice")
                files[member.name] = content.read()
                if member.mode & 0o111:
                    executable.add(member.name)
    except tarfile.TarError as error:
        raise BundleError(f"not a bundle archive: {error}") from None
    if entry is None:
        raise BundleError(f"not a bundle archive: it has no {MANIFEST}")
    if entry not in files:
        raise BundleError(f"the manifest's entry {entry!r} is not one of the bundle's files")
    _refuse_clashes(files)
    bundle = Bundle(entry, files, frozenset(executable))
    # The bytes verified must be the bytes the files make, or the identity would lie.
    if bundle.sha256 != digest:
        raise BundleError("not a canonical bundle archive (Bundle.archive did not make it)")
    return bundle


def _entry_of(raw: bytes) -> str:
    try:
        entry = json.loads(raw)["entry"]
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"the bundle's {MANIFEST} is not {{'entry': PATH}}") from None
    if not isinstance(entry, str):
        raise BundleError(f"the bundle's {MANIFEST} is not {{'entry': PATH}}")
    return entry


def extract(bundle: Bundle, directory: Path) -> Path:
    """Writes the bundle's files under `directory`; returns the entry file's path."""
    for path, data in bundle.files.items():
        check_path(path)
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o755 if path in bundle.executable else 0o644)
    return directory / bundle.entry


# ---- collecting your files ------------------------------------------------------------------

# Never bundled, not even by an --include glob: version control and Python's caches.
SKIPPED_DIRECTORIES = frozenset({".git", "__pycache__"})


def collect(
    path: Path, *, include: Sequence[str] = (), max_bytes: int = DEFAULT_MAX_BYTES
) -> Bundle:
    """The bundle of the file at `path`: it, the modules and packages beside it (in its
    directory tree) that it imports, and what those import in turn; plus the files matching
    the `include` globs (relative to its directory, e.g. "data/*.csv"). Files the directory's
    .gitignore files ignore are left out. Bundle.files lists exactly what is sent."""
    if not path.is_file():
        raise BundleError(f"{path}: no such file")
    # Not resolved: a linked entry bundles the files beside the link, where the user put it.
    absolute = Path(os.path.abspath(path))
    root, entry = absolute.parent, absolute.name
    ignored = _GitIgnored(root)
    paths = {entry} | _imported_files(root, entry, ignored)
    for pattern in include:
        matched = _included(root, pattern, ignored)
        if not matched:
            raise BundleError(f"--include {pattern!r} matches no file under {root}")
        paths |= matched
    files = {rel: (root / rel).read_bytes() for rel in sorted(paths)}
    executable = frozenset(rel for rel in files if os.access(root / rel, os.X_OK))
    check(files, entry, max_bytes)
    return Bundle(entry, files, executable)


class _GitIgnored:
    """Whether a path is ignored by the .gitignore files of the root and of the directories
    on the way to it (each about the paths under its own directory). Read when first needed:
    the root may be a large tree (a home directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self.specs:
            gitignore = self.root / directory / ".gitignore"
            self.specs[directory] = (
                pathspec.GitIgnoreSpec.from_lines(
                    gitignore.read_text(errors="replace").splitlines()
                )
                if gitignore.is_file()
                else None
            )
        return self.specs[directory]

    def __call__(self, rel: str) -> bool:
        parts = rel.split("/")
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is not None and spec.match_file("/".join(parts[depth:])):
                return True
        return False


def _included(root: Path, pattern: str, ignored: _GitIgnored) -> set[str]:
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise BundleError(f"--include {pattern!r}: give a glob relative to {root}")
    found: set[str] = set()
    for match in root.glob(pattern):
        for file in [match] if match.is_file() else [p for p in match.rglob("*") if p.is_file()]:
            rel = file.relative_to(root).as_posix()
            if not SKIPPED_DIRECTORIES & set(rel.split("/")) and not ignored(rel):
                found.add(rel)
    return found


def _imported_files(root: Path, entry: str, ignored: _GitIgnored) -> set[str]:
    """The files under root that `entry` imports, transitively."""
    found: set[str] = set()
    pending = [entry]
    while pending:
        module = pending.pop()
        for rel in _imports_of(root, module):
            if rel not in found and rel != entry and not ignored(rel):
                found.add(rel)
                pending.append(rel)
    return found


def _imports_of(root: Path, rel: str) -> set[str]:
    """The files under root that the module file `rel` imports (the package __init__.py files
    on the way too), from every import statement in it, function-level ones included."""
    source = (root / rel).read_bytes()
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as error:
        raise BundleError(f"{rel}:{error.lineno}: {error.msg}") from None
    package = rel.split("/")[:-1]  # the directory a relative import starts from
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _module_files(root, alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(package):
                    continue  # beyond the root: not ours to bundle
                base = package[: len(package) - (node.level - 1)]
            else:
                base = []
            parts = base + (node.module.split(".") if node.module else [])
            found |= _module_files(root, parts)
            for alias in node.names:  # `from package import module`
                if alias.name != "*":
                    found |= _module_files(root, [*parts, alias.name])
    return found


def _module_files(root: Path, parts: list[str]) -> set[str]:
    """The files of the module `parts` under root and its packages' __init__.py files, or
    nothing when it is not there (the runtime's or the standard library's)."""
    if not parts:
        return set()
    *packages, name = parts
    for candidate in (f"{name}.py", f"{name}/__init__.py"):
        rel = "/".join([*packages, candidate])
        if (root / rel).is_file():
            inits = ("/".join([*packages[:i], "__init__.py"]) for i in range(1, len(parts)))
            return {rel, *(init for init in inits if (root / init).is_file())}
    return set()


# ---- shipping a function ----------------------------------------------------------------------

FUNCTION_ENTRY = "model.py"
# Module constants the platform reads (samples per run, samples per block), shipped with the
# function when its module defines them.
PLATFORM_CONSTANTS = ("SAMPLES", "BLOCK_SIZE")
_CONSTANT_TYPES = (int, float, str, bool, type(None))


def from_function(fn: Callable[..., Any]) -> Bundle:
    """A bundle of one module made from the SOURCE of `fn` (never a pickle): the imports it
    and its helpers use, the plain constants they read, the helper functions and classes of
    its module they call, then `fn` itself (and `simulate = fn`, unless that is its name).
    Works for functions in a notebook as in any module."""
    if not inspect.isfunction(fn):
        raise BundleError(
            f"{fn!r} is not a function; pass a function defined with def at module level"
        )
    module = fn.__module__
    ship = _Shipment(fn.__globals__, module)
    ship.add_definition(fn.__name__, fn)
    for name in PLATFORM_CONSTANTS:
        value = fn.__globals__.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            ship.constants.setdefault(name, repr(value))
    # The function's docstring is the module's: the model's title and description.
    header = [
        _docstring(inspect.cleandoc(fn.__doc__)) if fn.__doc__ else "",
        "\n".join(sorted(set(ship.imports), key=lambda line: (line.startswith("from"), line))),
        "\n".join(f"{name} = {value}" for name, value in sorted(ship.constants.items())),
    ]
    chunks = ["\n\n".join(part for part in header if part), *ship.definitions]
    if fn.__name__ != "simulate":
        chunks.append(f"simulate = {fn.__name__}")
    source = "\n\n\n".join(chunk for chunk in chunks if chunk) + "\n"
    try:
        compile(source, FUNCTION_ENTRY, "exec")
    except SyntaxError as error:
        raise BundleError(f"the source made from {fn.__name__} does not compile: {error}") from None
    return from_source(source, FUNCTION_ENTRY)


class _Shipment:
    """What a function needs, gathered from the globals of its module."""

    def __init__(self, namespace: Mapping[str, Any], module: str) -> None:
        self.namespace = namespace
        self.module = module
        self.imports: list[str] = []
        self.constants: dict[str, str] = {}
        # Source of each helper, dependencies first (a base class before its subclass).
        self.definitions: list[str] = []
        self.seen: set[str] = set()

    def add_definition(self, name: str, value: Any) -> None:
        self.seen.add(name)
        what = f"{'class' if inspect.isclass(value) else 'function'} {name}"
        if inspect.isfunction(value):
            if value.__name__ == "<lambda>":
                raise BundleError(f"{name} is a lambda; define it with def to ship it")
            if value.__closure__:
                free = ", ".join(value.__code__.co_freevars)
                raise BundleError(
                    f"{name} is a closure (it uses {free} of an enclosing function); "
                    "define it at module level and pass those as parameters or constants"
                )
        try:
            source = textwrap.dedent(inspect.getsource(value))
        except (OSError, TypeError):
            raise BundleError(
                f"the source of {what} cannot be found; define it in a file or cell"
            ) from None
        for global_name in sorted(_names_used(source, value)):
            if global_name not in self.seen and global_name in self.namespace:
                self.add_global(global_name, self.namespace[global_name], user=name)
        self.definitions.append(source.rstrip())

    def add_global(self, name: str, value: Any, *, user: str) -> None:
        self.seen.add(name)
        if inspect.ismodule(value):
            module = value.__name__
            self.imports.append(
                f"import {module}" if module == name else f"import {module} as {name}"
            )
        elif _is_constant(value):
            self.constants[name] = _literal(value)
        elif (inspect.isfunction(value) or inspect.isclass(value)) and (
            value.__module__ == self.module
        ):
            self.add_definition(name, value)
        elif (origin := _importable(value)) is not None:
            module, qualname = origin
            alias = "" if qualname == name else f" as {name}"
            self.imports.append(f"from {module} import {qualname}{alias}")
        else:
            raise BundleError(
                f"{user} uses the global {name!r}, a {type(value).__name__}, which cannot be "
                "shipped as source: create it inside the function, or make it a constant "
                "(int, float, str, bool, None or a tuple of them)"
            )


def _docstring(text: str) -> str:
    plain = '"""' not in text and not text.endswith(('"', "\\")) and "\\" not in text
    return f'"""{text}"""' if plain else repr(text)


def _names_used(source: str, value: Any) -> set[str]:
    """The names a definition may read from its module's globals. Of a function's body only
    those its code looks up by name (not its local variables); its signature and decorators
    are evaluated in the module, so all of theirs."""
    definition = ast.parse(source).body[0]
    if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef):
        return {node.id for node in ast.walk(definition) if isinstance(node, ast.Name)}
    outside = [definition.args, *definition.decorator_list]
    outside += [definition.returns] if definition.returns else []
    names = {node.id for part in outside for node in ast.walk(part) if isinstance(node, ast.Name)}
    looked_up = _code_names(value.__code__)
    body = (node for part in definition.body for node in ast.walk(part))
    return names | {node.id for node in body if isinstance(node, ast.Name) and node.id in looked_up}


def _code_names(code: CodeType) -> set[str]:
    """The global (and attribute) names a code object and the code nested in it use."""
    nested = (const for const in code.co_consts if isinstance(const, CodeType))
    return set(code.co_names).union(*(_code_names(inner) for inner in nested))


def _is_constant(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_is_constant(item) for item in value)
    return type(value) in _CONSTANT_TYPES


def _literal(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, tuple):
        items = [_literal(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(value)


def _importable(value: Any) -> tuple[str, str] | None:
    """(module, name) that `from module import name` gives `value` back with, if any."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None) or getattr(value, "_name", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "." in qualname:
        return None
    if module in ("__main__", "builtins"):
        return None
    try:
        found = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        return None
    return (module, qualname) if found is value else None
