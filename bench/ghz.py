"""A second opinion on the unary paths from a compiled load generator: ghz (`make ghz-bin`)
drives Health/Check and SubmitJob through the gateway with the same concurrency and connections
as bench.submit. The Python load generator spends CPU of the same two cores the stack runs on;
ghz spends less per call, so its numbers are closer to what the stack itself can do."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health_pb2

from bench.report import Row
from bench.submit import against_ceiling
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2

GHZ = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "ghz"


def protoset(*files: FileDescriptor) -> bytes:
    """The files and everything they import, as a FileDescriptorSet (what `--protoset` reads),
    taken from the generated Python modules: no protoc run, no .proto of grpc_health needed."""
    found: dict[str, FileDescriptor] = {}

    def visit(file: FileDescriptor) -> None:
        if file.name in found:
            return
        for dependency in file.dependencies:
            visit(dependency)
        found[file.name] = file  # after its imports, as protoc orders them

    for file in files:
        visit(file)
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for file in found.values():
        file.CopyToProto(descriptor_set.file.add())
    return descriptor_set.SerializeToString()


def ghz(
    stack: Stack, protoset_path: Path, call: str, data: dict[str, Any], total: int, clients: int
) -> dict[str, Any]:
    """One ghz run; its JSON report. Any call that did not end OK fails the bench."""
    command = [
        str(GHZ), "--insecure", "--protoset", str(protoset_path), "--call", call,
        "--data", json.dumps(data),
        "--metadata", json.dumps({"authorization": f"Bearer {stack.token}"}),
        "--concurrency", str(clients), "--connections", str(clients),
        "--total", str(total), "--timeout", "30s", "--format", "json",
        stack.url.removeprefix("http://"),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    report: dict[str, Any] = json.loads(out)
    codes = report.get("statusCodeDistribution") or {}
    if set(codes) != {"OK"}:
        errors = report.get("errorDistribution")
        raise RuntimeError(f"ghz {call}: calls did not all succeed: {codes} {errors}")
    return report


def p99_ms(report: dict[str, Any]) -> float:
    for entry in report["latencyDistribution"]:
        if entry["percentage"] == 99:
            return float(entry["latency"]) / 1e6
    raise RuntimeError("ghz reported no p99")


def run(stack: Stack, total: int, clients: int) -> list[Row]:
    if not GHZ.exists():
        raise RuntimeError(f"{GHZ} is missing: `make ghz-bin` builds it")
    with tempfile.TemporaryDirectory(prefix="simlab-bench-ghz-") as tmp:
        path = Path(tmp) / "simlab.protoset"
        path.write_bytes(protoset(simulation_pb2.DESCRIPTOR, health_pb2.DESCRIPTOR))
        # Left stopped, as bench.submit leaves it: the jobs queued here are not for running.
        stack.stop_service("runner")
        health = ghz(stack, path, "grpc.health.v1.Health.Check", {}, total, clients)
        submit = ghz(
            stack,
            path,
            "simlab.v1.SimulationService.SubmitJob",
            # {{.UUID}}: ghz makes each call's request_id unique, so each is a new job.
            {"model": "pi", "parameters": {"samples": 1000}, "seed": 1, "requestId": "{{.UUID}}"},
            total,
            clients,
        )
    for name, report in (("Health/Check", health), ("SubmitJob", submit)):
        print(
            f"ghz {name:<13} {report['count']} calls, {float(report['rps']):,.0f}/s, "
            f"p99 {p99_ms(report):.1f} ms"
        )
    return against_ceiling(
        "ghz: ",
        clients,
        (float(health["rps"]), p99_ms(health)),
        (float(submit["rps"]), p99_ms(submit)),
    )
