"""Studies through the embedded stack:
- SubmitStudy of 1,000 and 10,000 points (one call: every point checked and queued in one
  transaction), GetStudy, ListStudyPoints of every point (pages of the default 1,000) and
  CancelStudy of them all, then the time until every point has ended. The runner is stopped
  meanwhile, so that worker processes do not compete with the API for the CPUs;
- with --complete, points completed per second for a study of N tiny points (pi, about 10,000
  samples each) under the runner's worker cap.

`python -m bench.study [--points N] [--complete] [--quick]` runs it alone against its own
stack."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import struct_pb2

from bench.report import Row
from simlab.client import Client
from simlab.devstack.stack import Stack, free_port
from simlab.v1 import simulation_pb2 as pb

T = TypeVar("T")
SIZES = (1_000, 10_000)
QUICK_SIZES = (100, 1_000)
TINY_SAMPLES = 10_000


def spec(points: int, seed: int = 0) -> pb.StudySpec:
    """`points` runs of pi, each of a different number of samples (10,000, 10,001, ...)."""
    samples = pb.StudyRange(start=TINY_SAMPLES, stop=TINY_SAMPLES + points - 1, count=points)
    return pb.StudySpec(
        model="pi",
        parameters=struct_pb2.Struct(),
        axes=[pb.StudyAxis(parameter="samples", range=samples)],
        seed=seed,
        no_cache=True,
    )


def timed(call: Callable[..., T], *args: Any) -> tuple[T, float]:
    started = time.perf_counter()
    result = call(*args)
    return result, time.perf_counter() - started


class Studies:
    """The study RPCs, called as the caller of `client`."""

    def __init__(self, client: Client) -> None:
        self.stub, self.metadata = client.stub, client.metadata

    def submit(self, study: pb.StudySpec) -> pb.Study:
        request = pb.SubmitStudyRequest(spec=study, request_id=uuid.uuid4().hex)
        response = self.stub.SubmitStudy(request, metadata=self.metadata, timeout=60)
        return response.study

    def get(self, study_id: str) -> pb.Study:
        request = pb.GetStudyRequest(study_id=study_id)
        return self.stub.GetStudy(request, metadata=self.metadata, timeout=30)

    def points(self, study_id: str) -> list[pb.StudyPoint]:
        points: list[pb.StudyPoint] = []
        token = ""
        while True:
            request = pb.ListStudyPointsRequest(study_id=study_id, page_token=token)
            page = self.stub.ListStudyPoints(request, metadata=self.metadata, timeout=60)
            points.extend(page.points)
            token = page.next_page_token
            if not token:
                return points

    def cancel(self, study_id: str) -> pb.Study:
        request = pb.CancelStudyRequest(study_id=study_id)
        return self.stub.CancelStudy(request, metadata=self.metadata, timeout=60)

    def ended(self, study_id: str, timeout: float = 600, poll_s: float = 0.05) -> pb.Study:
        deadline = time.monotonic() + timeout
        while not (study := self.get(study_id)).HasField("ended_at"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"study {study_id} has not ended: {study.counts}")
            time.sleep(poll_s)
        return study


def api(studies: Studies, sizes: tuple[int, ...], repeats: int) -> list[Row]:
    rows = []
    print(
        f"{'points':>7} {'submit p50':>11} {'submit max':>11} {'GetStudy':>9} "
        f"{'ListStudyPoints (all)':>22} {'CancelStudy':>12} {'-> all ended':>13}"
    )
    ms = 1e3
    for size in sizes:
        submits, gets, lists, cancels, ends = [], [], [], [], []
        for _ in range(repeats):
            study, seconds = timed(studies.submit, spec(size))
            if study.points != size:
                raise RuntimeError(f"asked for {size} points, got {study.points}")
            submits.append(seconds)
            gets += [timed(studies.get, study.study_id)[1] for _ in range(5)]
            listed, seconds = timed(studies.points, study.study_id)
            if len(listed) != size:
                raise RuntimeError(f"listed {len(listed)} of {size} points")
            lists.append(seconds)
            started = time.perf_counter()
            studies.cancel(study.study_id)
            cancels.append(time.perf_counter() - started)
            done = studies.ended(study.study_id)
            ends.append(time.perf_counter() - started)
            if done.counts.cancelled != size:
                raise RuntimeError(f"cancelled {done.counts.cancelled} of {size} points")
        print(
            f"{size:>7,} {statistics.median(submits) * ms:>9.0f}ms {max(submits) * ms:>9.0f}ms "
            f"{statistics.median(gets) * ms:>7.1f}ms {statistics.median(lists) * ms:>20.0f}ms "
            f"{statistics.median(cancels) * ms:>10.0f}ms {statistics.median(ends) * ms:>11.0f}ms"
        )
        rows.append(
            Row(f"SubmitStudy, {size:,} points, median", statistics.median(submits) * ms, "ms")
        )
    print(f"(median of {repeats} studies each; GetStudy: median of {5 * repeats} calls)")
    return rows


def complete(studies: Studies, points: int) -> list[Row]:
    study = studies.submit(spec(points))
    done = studies.ended(study.study_id, timeout=max(600, points * 5), poll_s=1.0)
    # The job store's clock: the polls' period does not count.
    elapsed = (done.ended_at.ToDatetime() - done.created_at.ToDatetime()).total_seconds()
    if done.state != pb.STUDY_STATE_SUCCEEDED:
        raise RuntimeError(f"the study ended {pb.StudyState.Name(done.state)}: {done.counts}")
    print(
        f"{points:,} points of pi ({TINY_SAMPLES:,} samples each) submitted -> all SUCCEEDED in "
        f"{elapsed:.1f} s = {points / elapsed:.2f} points/s"
    )
    return [Row(f"study of {points} tiny points, all SUCCEEDED", points / elapsed,
                "points/s")]  # fmt: skip


def run(stack: Stack, quick: bool = False, points: int | None = None) -> list[Row]:
    """The API timings, then (unless `points` is 0) a study of `points` tiny points run to the
    end (default 10 quick, 20 otherwise: each point is a worker process, about 1.5 s of CPU
    here)."""
    with Client(stack.url, token=stack.token) as client:
        studies = Studies(client)
        stack.stop_service("runner")
        try:
            rows = api(studies, QUICK_SIZES if quick else SIZES, repeats=2 if quick else 3)
        finally:
            stack.start_service("runner")
        if points is None:
            points = 10 if quick else 20
        if points:
            rows += complete(studies, points)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.study", description=__doc__)
    parser.add_argument("--points", type=int, default=100, help="points of the --complete run")
    parser.add_argument("--complete", action="store_true", help="run a study of tiny points")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 points")
    parser.add_argument("--workers", type=int, default=0, help="the runner's cap (0: CPUs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simlab-bench-") as tmp:
        env = {"SIMLAB_RUNNER_MAX_WORKERS": str(args.workers)} if args.workers else {}
        stack = Stack(Path(tmp) / "state", free_port(), log_dir=Path(tmp) / "logs", extra_env=env)
        stack.start()
        try:
            run(stack, quick=args.quick, points=args.points if args.complete else 0)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
