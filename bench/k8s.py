"""`make bench-k8s`: the Kubernetes launcher on the local cluster (`make cluster-up` and
`make images` first, and SIMLAB_S3_* of a MinIO, e.g. from `make minio`). For small one-shard
jobs it prints the runner's share (queued -> Job created, i.e. QUEUED -> LAUNCHING) and the
Job-create -> worker-running latency (LAUNCHING -> RUNNING: scheduling, pod sandbox,
container start, Python start-up). With --study N, one study of N tiny points instead: when
the points' Jobs were created and their workers ran, after the submit, i.e. the rate at which
the cluster takes pods."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.study import Studies, spec
from simlab.client import Client
from simlab.devstack.stack import Stack, free_port
from simlab.v1 import simulation_pb2 as pb

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.k8s", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--study", type=int, default=0, help="points of one study instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simlab-bench-k8s-") as tmp:
        stack = Stack(
            Path(tmp) / "state",
            free_port(),
            log_dir=Path(tmp) / "logs",
            launcher="kubernetes",
            kube_state_dir=REPO / ".simlab",
        )
        stack.start()
        try:
            if args.study:
                with Client(stack.url, token=stack.token) as client:
                    study_rate(client, args.study)
                return
            runner_s, start_s = [], []
            with Client(stack.url, token=stack.token) as client:
                for seed in range(1, args.jobs + 1):
                    job = client.submit("pi", {"samples": 1_000_000}, seed=seed)
                    done = client.wait(job.job_id, progress=False)
                    if done.state != pb.JOB_STATE_SUCCEEDED:
                        raise RuntimeError(f"{job.job_id}: {done.error.message}")
                    at = {h.state: h.at.ToDatetime().timestamp() for h in done.history}
                    runner_s.append(at[pb.JOB_STATE_LAUNCHING] - at[pb.JOB_STATE_QUEUED])
                    start_s.append(at[pb.JOB_STATE_RUNNING] - at[pb.JOB_STATE_LAUNCHING])
            for name, values in (
                ("queued -> Job created (runner)", runner_s),
                ("Job created -> worker running", start_s),
            ):
                ms = sorted(v * 1000 for v in values)
                print(
                    f"{name}: n={len(ms)} median={statistics.median(ms):.0f} ms "
                    f"min={ms[0]:.0f} ms max={ms[-1]:.0f} ms"
                )
        finally:
            stack.stop()


def study_rate(client: Client, points: int) -> None:
    studies = Studies(client)
    study = studies.submit(spec(points))
    done = studies.ended(study.study_id, timeout=max(600, points * 10), poll_s=1.0)
    if done.state != pb.STUDY_STATE_SUCCEEDED:
        raise RuntimeError(f"the study ended {pb.StudyState.Name(done.state)}: {done.counts}")
    submitted = done.created_at.ToDatetime().timestamp()
    created, running = [], []
    for point in studies.points(study.study_id):
        at = {h.state: h.at.ToDatetime().timestamp() for h in client.get(point.job_id).history}
        created.append(at[pb.JOB_STATE_LAUNCHING] - submitted)
        running.append(at[pb.JOB_STATE_RUNNING] - submitted)
    total = done.ended_at.ToDatetime().timestamp() - submitted
    for name, times in (("Jobs created", created), ("workers running", running)):
        first, last = min(times), max(times)
        rate = (points - 1) / (last - first) if last > first else float("inf")
        print(f"{name}: {first:.1f}-{last:.1f} s after the submit ({rate:.2f}/s)")
    print(f"{points} points all SUCCEEDED {total:.1f} s after the submit: {points / total:.2f}/s")


if __name__ == "__main__":
    main()
