"""`make bench-k8s`: the Kubernetes launcher on the local cluster (`make cluster-up` and
`make images` first, and SIMLAB_S3_* of a MinIO, e.g. from `make minio`). For small one-shard
jobs it prints the runner's share (queued -> Job created, i.e. QUEUED -> LAUNCHING) and the
Job-create -> worker-running latency (LAUNCHING -> RUNNING: scheduling, pod sandbox,
container start, Python start-up)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from simlab.client import Client
from simlab.devstack.stack import Stack, free_port
from simlab.v1 import simulation_pb2 as pb

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.k8s", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10)
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


if __name__ == "__main__":
    main()
