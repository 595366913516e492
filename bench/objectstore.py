"""Upload and download throughput of the S3 store against a local MinIO, and the peak memory
of the process doing it: `python -m bench.objectstore [--size-mib 1024] [--part-size-mib 16]`.

The transfers run in a child process, so its peak RSS (from the kernel, when it exits) counts
them alone."""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Row
from simlab.adapters.objectstore_factory import object_store_settings, open_object_store
from simlab.common.settings import Env
from simlab.devstack.minio_server import minio_binary, start_minio

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent


def child(src: Path, dst: Path) -> None:
    """Times put_file, a streamed download and commit_prefix (hash + upload); prints JSON."""
    store = open_object_store(object_store_settings(Env("SIMLAB_BENCH")))
    timings = {}
    started = time.monotonic()
    store.put_file("bench/blob", src)
    timings["upload_s"] = time.monotonic() - started

    started = time.monotonic()
    with dst.open("wb") as out:
        for chunk in store.iter_chunks("bench/blob", MiB):
            out.write(chunk)
    timings["download_s"] = time.monotonic() - started

    started = time.monotonic()
    store.commit_prefix("jobs/bench", {"data.npz": src})
    timings["commit_s"] = time.monotonic() - started
    print(json.dumps(timings))


def run(size_mib: int, part_size_mib: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="simlab-bench-s3-") as tmp:
        work = Path(tmp)
        src, dst = work / "src.bin", work / "dst.bin"
        rng = random.Random(1)
        with src.open("wb") as f:
            for _ in range(size_mib):
                f.write(rng.randbytes(MiB))  # incompressible

        server = start_minio(minio_binary(ROOT), work / "minio")
        try:
            env = {
                **os.environ,
                **server.env(bucket="bench"),
                "SIMLAB_S3_PART_SIZE": str(part_size_mib * MiB),
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.objectstore", "--child", str(src), str(dst)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
            )
            assert proc.stdout is not None
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise SystemExit(f"the benchmark process failed with {proc.returncode}")
            timings = json.loads(out)
        finally:
            server.stop()

    mib = float(size_mib)
    print(f"S3 store on local MinIO, {size_mib} MiB file, {part_size_mib} MiB parts:")
    print(f"  upload (put_file, multipart):   {mib / timings['upload_s']:7.0f} MiB/s")
    print(f"  download (iter_chunks to file): {mib / timings['download_s']:7.0f} MiB/s")
    print(f"  commit_prefix (sha256 + upload): {mib / timings['commit_s']:6.0f} MiB/s")
    print(f"  peak RSS of the process:        {usage.ru_maxrss / 1024:7.0f} MiB")
    return [
        Row(f"S3 upload, {size_mib} MiB file", mib / timings["upload_s"], "MiB/s"),
        Row(f"S3 download, {size_mib} MiB file", mib / timings["download_s"], "MiB/s"),
        Row(f"S3 peak RSS, {size_mib} MiB file", usage.ru_maxrss / 1024, "MiB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.objectstore", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-size-mib", type=int, default=16)
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
    else:
        run(args.size_mib, args.part_size_mib)


if __name__ == "__main__":
    main()
