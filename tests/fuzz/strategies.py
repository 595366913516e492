"""Hostile requests for every simlab.v1.SimulationService method, drawn from the request
messages' descriptors: as JSON (wrong types, NaN/Infinity/1e400, nesting, huge/empty/unicode/NUL
strings) and as protobuf bytes (every field of its right type with hostile values, or garbage),
naming real ids of the caller's and other users' runs, forged page and share tokens."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from simlab.v1 import simulation_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["SimulationService"]
METHODS = {method.name: method for method in SERVICE.methods}
STREAMING = frozenset({"WatchJob", "WatchStudy", "GetArtifact", "TailLogs"})
# Stand-in for a float JSON cannot write: replaced by the literal after encoding.
_HUGE = 1.2345e300
MAX_DEPTH = 4


@dataclass(frozen=True)
class Known:
    """What exists in the stack under attack: ids to aim at."""

    own_jobs: tuple[str, ...]
    other_jobs: tuple[str, ...]
    link_ids: tuple[str, ...]
    share_tokens: tuple[str, ...]
    models: tuple[str, ...]


HOSTILE = [
    "",
    "\0",
    "a\0b",
    "*",
    ">",
    "jobs.*",
    "a.b",
    " ",
    "../../etc/passwd",
    "..",
    "/",
    "%00",
    "\u202e\u0000x",
    "💥" * 40,
    "\ud800",
    "\\",
    "'; DROP TABLE jobs; --",
    "${jndi:ldap://x}",
    "NaN",
    "Infinity",
    "-1",
    "9" * 40,
]


def long_strings() -> st.SearchStrategy[str]:
    return st.integers(100, 300_000).map(lambda n: "x" * n)


def hostile_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=20),
        long_strings(),
    )


def deep_paths() -> st.SearchStrategy[str]:
    return st.integers(1, 3000).map(lambda n: "a/" * n + "x")


def page_tokens() -> st.SearchStrategy[str]:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    nested = st.integers(1, 50_000).map(lambda n: b64(b"[" * n + b"]" * n))
    forged = st.tuples(st.integers(-(2**80), 2**80), hostile_strings()).map(
        lambda pair: b64(json.dumps(list(pair)).encode())
    )
    return st.one_of(nested, forged, hostile_strings(), st.binary(max_size=64).map(b64))


def ids(known: Known) -> st.SearchStrategy[str]:
    real = known.own_jobs + known.other_jobs + known.link_ids
    return st.one_of(
        st.sampled_from(real),
        st.sampled_from(real).map(lambda i: i.upper()),
        st.text("0123456789abcdef", min_size=16, max_size=16),
        hostile_strings(),
    )


def strings_for(field: FieldDescriptor, known: Known) -> st.SearchStrategy[str]:
    name = field.name
    if name.endswith("_id") or name == "job_id_prefix":
        return ids(known)
    if name == "page_token":
        return page_tokens()
    if name in ("model", "name") or name.endswith("model"):
        refs = known.models + tuple(f"{m}@v{v}" for m in known.models for v in (0, 1, 99))
        return st.one_of(st.sampled_from(refs), hostile_strings(), deep_paths())
    if name in ("path", "entry"):
        return st.one_of(st.sampled_from(["sim.py", "a/b.py"]), hostile_strings(), deep_paths())
    return hostile_strings()


def json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.just(_HUGE),
        hostile_strings(),
    )


def json_values(depth: int = 0) -> st.SearchStrategy[Any]:
    if depth >= MAX_DEPTH:
        return json_scalars()
    inner = json_values(depth + 1)
    return st.one_of(
        json_scalars(),
        st.lists(inner, max_size=5),
        st.dictionaries(hostile_strings(), inner, max_size=5),
        # Nesting beyond protobuf's limit (100), within Python's for building it here.
        st.integers(10, 200).map(lambda n: json.loads("[" * n + "]" * n)),
    )


def _json_for_field(field: FieldDescriptor, known: Known, depth: int) -> st.SearchStrategy[Any]:
    T = FieldDescriptor
    if field.type == T.TYPE_STRING:
        base: st.SearchStrategy[Any] = strings_for(field, known)
    elif field.type == T.TYPE_BYTES:
        base = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
    elif field.type == T.TYPE_BOOL:
        base = st.booleans()
    elif field.type in (T.TYPE_DOUBLE, T.TYPE_FLOAT):
        base = st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from(["NaN", "Infinity", "-Infinity"]),
            st.just(_HUGE),
        )
    elif field.type == T.TYPE_ENUM:
        names = [v.name for v in field.enum_type.values]
        base = st.one_of(st.sampled_from(names), st.integers(-(2**40), 2**40))
    elif field.type == T.TYPE_MESSAGE:
        full = field.message_type.full_name
        if full == "google.protobuf.Struct":
            base = st.dictionaries(hostile_strings(), json_values(depth + 1), max_size=6)
        elif full == "google.protobuf.Timestamp":
            base = st.one_of(st.just("1970-01-01T00:00:00Z"), hostile_strings())
        elif depth >= MAX_DEPTH:
            base = st.just({})
        else:
            base = json_for(field.message_type, known, depth + 1)
    else:  # integers, every width
        base = st.one_of(
            st.integers(-(2**65), 2**65),
            st.sampled_from([-1, 0, 1, 2**31, 2**63, -(2**63) - 1, 2**64]),
            st.integers(-5, 5).map(str),
            st.just(1.5),
        )
    if field.is_repeated:
        base = st.one_of(
            st.lists(base, max_size=8),
            st.integers(100, 20_000).map(lambda n: ["x"] * n),
        )
    # Now and then a value of the wrong type altogether.
    return st.one_of(base, base, base, json_values(MAX_DEPTH - 1))


def json_for(message: Descriptor, known: Known, depth: int = 0) -> st.SearchStrategy[Any]:
    fields = {f.json_name: _json_for_field(f, known, depth) for f in message.fields}
    return st.fixed_dictionaries({}, optional=fields)


def json_body(value: Any) -> bytes:
    text = json.dumps(value, allow_nan=True)
    # NaN and Infinity are not JSON; 1e400 is JSON, and parses as an infinity.
    return text.replace(repr(_HUGE), "1e400").encode("utf-8", "surrogatepass")


def proto_body(data: st.DataObject, message: Message, known: Known) -> bytes:
    """The message with each field drawn (right types, hostile values), serialized; or garbage."""
    kind = data.draw(st.sampled_from(["fields", "fields", "fields", "garbage", "truncated"]))
    if kind == "garbage":
        return data.draw(st.binary(max_size=256))
    _fill(data, message, known, 0)
    raw = message.SerializeToString()
    if kind == "truncated" and raw:
        return raw[: data.draw(st.integers(0, len(raw) - 1))]
    return raw


def _fill(data: st.DataObject, message: Message, known: Known, depth: int) -> None:
    T = FieldDescriptor
    for field in message.DESCRIPTOR.fields:
        if not data.draw(st.booleans(), label=f"set {field.name}"):
            continue
        count = 1
        if field.is_repeated:
            count = data.draw(st.one_of(st.integers(0, 6), st.sampled_from([500, 5000])))
        if count > 6:
            _many(message, field, count)
            continue
        for _ in range(count):
            if field.type == T.TYPE_MESSAGE:
                target = getattr(message, field.name)
                item = target.add() if field.is_repeated else target
                if field.message_type.full_name == "google.protobuf.Struct":
                    _struct(data, item, depth)
                elif depth < MAX_DEPTH:
                    _fill(data, item, known, depth + 1)
                continue
            value = data.draw(_proto_scalar(field, known))
            if field.is_repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)


def _many(message: Message, field: FieldDescriptor, count: int) -> None:
    """`count` small items in a repeated field: a long list, not a huge message."""
    target = getattr(message, field.name)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        for _ in range(count):
            target.add()
        return
    small = {FieldDescriptor.TYPE_STRING: "x", FieldDescriptor.TYPE_BYTES: b"x"}
    target.extend([small.get(field.type, 1)] * count)


def _proto_scalar(field: FieldDescriptor, known: Known) -> st.SearchStrategy[Any]:
    T = FieldDescriptor
    if field.type == T.TYPE_STRING:
        # protobuf strings are valid Unicode: no lone surrogates.
        return strings_for(field, known).filter(lambda s: "\ud800" not in s)
    if field.type == T.TYPE_BYTES:
        return st.binary(max_size=256)
    if field.type == T.TYPE_BOOL:
        return st.booleans()
    if field.type in (T.TYPE_DOUBLE, T.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=64)
    if field.type == T.TYPE_ENUM:
        return st.integers(-(2**31), 2**31 - 1)
    bits = (
        32
        if field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32)
        else 64
    )
    if field.cpp_type in (FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64):
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def _struct(data: st.DataObject, struct: struct_pb2.Struct, depth: int) -> None:
    value = data.draw(st.dictionaries(hostile_strings(), json_values(depth + 1), max_size=6))
    try:
        struct.update(_proto_safe(value))
    except (ValueError, TypeError, RecursionError):
        struct.update({"x": math.inf})


def _proto_safe(value: Any) -> Any:
    """Struct holds floats only, and strings protobuf accepts."""
    if isinstance(value, dict):
        return {_text(k): _proto_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_proto_safe(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")
