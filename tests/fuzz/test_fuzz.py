"""The fuzz suite: Hypothesis-generated hostile requests against the embedded stack, through
every public simlab.v1 RPC in Connect JSON, Connect proto, gRPC-Web and gRPC, plus the /files
and /code downloads. Every answer must be a documented code (never INTERNAL/UNKNOWN), no
service may log a traceback, and the gateway's memory must stay bounded.

SIMLAB_FUZZ_REQUESTS sets how many requests in all (default 1,000: the quick run inside
`make test`; `make fuzz` sends 12,000). The table protocol x RPC -> requests, codes is printed
at the end, with the gateway's RSS before and after."""

from __future__ import annotations

import os
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from simlab.client import Client
from simlab.common.tokens import SHARE_TOKEN_PREFIX
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from tests.fuzz.protocols import Caller
from tests.fuzz.strategies import (
    METHODS,
    STREAMING,
    Known,
    deep_paths,
    hostile_strings,
    ids,
    json_body,
    json_for,
    proto_body,
)

pytestmark = pytest.mark.e2e

REQUESTS = int(os.environ.get("SIMLAB_FUZZ_REQUESTS", "1000"))
PROTOCOLS = ("connect-json", "connect-proto", "grpc-web", "grpc", "http")
# What the API documents for a request, good or bad (deadline_exceeded: a stream that was
# still open when the fuzzer's short deadline passed).
DOCUMENTED = frozenset(
    {
        "ok",
        "invalid_argument",
        "not_found",
        "already_exists",
        "failed_precondition",
        "permission_denied",
        "unauthenticated",
        "resource_exhausted",
        "deadline_exceeded",
    }
)
MiB = 1024 * 1024
TOKENS = ("alice-token",) * 6 + ("bob-token", "wrong-token", None)


class Record:
    """protocol x RPC -> codes seen, and the requests that got an undocumented one."""

    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.slowest: dict[tuple[str, str], float] = defaultdict(float)
        self.bad: list[str] = []
        self.notes: list[str] = []

    def add(self, protocol: str, rpc: str, code: str, request: Any, took: float) -> None:
        self.codes[protocol, rpc][code] += 1
        self.slowest[protocol, rpc] = max(self.slowest[protocol, rpc], took)
        if code not in DOCUMENTED:
            self.bad.append(f"{protocol} {rpc} -> {code}: {str(request)[:300]}")

    def table(self) -> str:
        rows = [f"{'protocol':<14} {'rpc':<20} {'requests':>8} {'slowest':>8}  codes"]
        for (protocol, rpc), codes in sorted(self.codes.items()):
            seen = ", ".join(f"{code} {n}" for code, n in codes.most_common())
            slowest = f"{self.slowest[protocol, rpc]:.2f}s"
            rows.append(f"{protocol:<14} {rpc:<20} {sum(codes.values()):>8} {slowest:>8}  {seen}")
        total = sum(sum(c.values()) for c in self.codes.values())
        rows.append(f"{'total':<14} {'':<20} {total:>8}")
        return "\n".join(rows + self.notes)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def log_sizes(stack: Stack) -> dict[Path, int]:
    assert stack.log_dir is not None
    return {log: log.stat().st_size for log in stack.log_dir.glob("*.log")}


def tracebacks(stack: Stack) -> list[str]:
    found = []
    for log in log_sizes(stack):
        with log.open("rb") as f:
            text = f.read().decode(errors="replace")
        if "Traceback" in text:
            at = text.index("Traceback")
            found.append(f"{log.name}: {text[at : at + 1500]}")
    return found


@pytest.fixture(scope="module")
def known(stack: Stack) -> Known:
    """Finished runs of alice (the usual caller) and bob (someone else), a share link."""
    with (
        Client(stack.url, token="alice-token") as alice,
        Client(stack.url, token="bob-token") as bob,
    ):
        own = [alice.submit("pi", {"samples": 20_000}, seed=i).job_id for i in (1, 2)]
        other = bob.submit("pi", {"samples": 20_000}, seed=3).job_id
        for job_id in own:
            alice.wait(job_id, progress=False)
        bob.wait(other, progress=False)
        link = alice.share(own[0])
        models = alice.stub.ListModels(pb.ListModelsRequest(), metadata=alice.metadata)
    return Known(
        own_jobs=tuple(own),
        other_jobs=(other,),
        link_ids=(link.link.link_id,),
        share_tokens=(link.token, SHARE_TOKEN_PREFIX + "forged", SHARE_TOKEN_PREFIX),
        models=(*(m.name for m in models.models), "nope"),
    )


@pytest.fixture(scope="module")
def record(stack: Stack, pytestconfig: pytest.Config) -> Iterator[Record]:
    """The table and the gateway's RSS, printed after the module (on the terminal, even when
    output is captured)."""
    record = Record()
    pid = stack.processes["gateway"].pid
    before = rss_bytes(pid)
    yield record
    after = rss_bytes(pid)
    lines = [
        "",
        record.table(),
        f"gateway RSS: {before / MiB:.1f} MiB before, {after / MiB:.1f} MiB after",
    ]
    # Output capture holds the terminal's file descriptor during teardown too.
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print("\n".join(lines))


@pytest.fixture(scope="module")
def caller(stack: Stack) -> Iterator[Caller]:
    caller = Caller(stack.url, f"127.0.0.1:{stack.port}")
    yield caller
    caller.close()


def tokens(known: Known) -> st.SearchStrategy[str | None]:
    return st.sampled_from(TOKENS + known.share_tokens)


@pytest.mark.parametrize("protocol", PROTOCOLS)
# Up to a second per request (they take about 0.1 s): `make fuzz` outlasts pytest's default.
@pytest.mark.timeout(max(300, REQUESTS // len(PROTOCOLS)))
def test_hostile_requests_get_documented_codes(
    protocol: str, known: Known, caller: Caller, record: Record
) -> None:
    @settings(
        max_examples=max(1, REQUESTS // len(PROTOCOLS)),
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        token = data.draw(tokens(known), label="token")
        started = time.perf_counter()
        if protocol == "http":
            rpc, request, code = download(data, known, caller, token)
        else:
            rpc = data.draw(st.sampled_from(sorted(METHODS)), label="rpc")
            request, code = call(data, protocol, rpc, known, caller, token)
        record.add(protocol, rpc, code, (token, request), time.perf_counter() - started)

    send()
    bad = [line for line in record.bad if line.startswith(f"{protocol} ")]
    assert not bad, "\n".join(bad[:20])


def call(
    data: st.DataObject, protocol: str, rpc: str, known: Known, caller: Caller, token: str | None
) -> tuple[Any, str]:
    method = METHODS[rpc]
    stream = rpc in STREAMING
    if protocol == "connect-json":
        kind = data.draw(st.sampled_from(["fields"] * 8 + ["deep", "garbage"]), label="body")
        if kind == "fields":
            body = json_body(data.draw(json_for(method.input_type, known), label="json"))
        elif kind == "deep":
            depth = data.draw(st.integers(100, 200_000))
            body = b'{"jobId": ' + b"[" * depth + b"]" * depth + b"}"
        else:
            body = data.draw(st.binary(max_size=200))
        return body[:300], caller.connect(rpc, body, token, "json", stream)
    message = pb.__dict__[method.input_type.name]()
    body = proto_body(data, message, known)
    if protocol == "connect-proto":
        return message, caller.connect(rpc, body, token, "proto", stream)
    if protocol == "grpc-web":
        return message, caller.grpc_web(rpc, body, token)
    return message, caller.grpc(rpc, body, token, stream)


def download(
    data: st.DataObject, known: Known, caller: Caller, token: str | None
) -> tuple[str, str, str]:
    job = data.draw(ids(known), label="job")
    name = data.draw(
        st.one_of(
            st.sampled_from(["summary.json", "logs/shard-0.log", "", "sim.py"]),
            hostile_strings(),
            deep_paths(),
        ),
        label="name",
    )
    kind = data.draw(st.sampled_from(["files", "code-jobs", "code-models"]), label="route")
    if kind == "files":
        path = f"/files/{job}/{name}"
    elif kind == "code-jobs":
        path = f"/code/jobs/{job}/{name}"
    else:
        model = data.draw(st.sampled_from(known.models) | hostile_strings(), label="model")
        path = f"/code/models/{model}/{name}"
    query = {}
    if data.draw(st.booleans(), label="share"):
        share = data.draw(st.sampled_from(known.share_tokens) | hostile_strings())
        query["share"] = share.encode("utf-8", "replace").decode()
        token = None
    url = quote(path.encode("utf-8", "surrogatepass")[:400_000], safe="/@")
    return kind, f"{url[:200]} {query}", caller.download(url, token, query)


def test_a_gzip_bomb_costs_the_gateway_little_memory(stack: Stack, record: Record) -> None:
    """Item 1: 512 MiB of zeros, gzipped (about 0.5 MB), to ListModels; with a wrong token it
    is refused unread, with a good one it stops at the read limit."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = bytes(MiB)
    bomb = b"".join(compressor.compress(block) for _ in range(512)) + compressor.flush()
    pid = stack.processes["gateway"].pid
    caller = Caller(stack.url, f"127.0.0.1:{stack.port}")
    try:
        for token, expected in (
            ("wrong-token", "unauthenticated"),
            ("alice-token", "resource_exhausted"),
        ):
            before = rss_bytes(pid)
            started = time.perf_counter()
            answer = caller.http.post(
                f"{stack.url}/simlab.v1.SimulationService/ListModels",
                data=bomb,
                headers={
                    "content-type": "application/json",
                    "content-encoding": "gzip",
                    "authorization": f"Bearer {token}",
                },
                timeout=60,
            )
            grew = rss_bytes(pid) - before
            record.notes.append(
                f"gzip bomb ({len(bomb)} bytes -> 512 MiB), {token}: {answer.json()['code']} "
                f"in {time.perf_counter() - started:.2f} s, gateway RSS +{grew / MiB:.1f} MiB"
            )
            assert answer.json()["code"] == expected
            assert grew < 20 * MiB
    finally:
        caller.close()


def test_no_service_logged_a_traceback(stack: Stack, record: Record) -> None:
    """Runs last: the logs of everything above."""
    found = tracebacks(stack)
    assert not found, "\n\n".join(found[:5])
