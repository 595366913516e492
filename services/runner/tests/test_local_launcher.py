"""The local launcher's registration workers really run under their limits: a child started
through it reports its own rlimits, and one that exceeds them is stopped. A job's shards run
no more than its parallelism at once. Each worker gets its token as a private file, renewed
while it runs."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

import pytest

from services.runner.tests.fakes import SECRET, Recorder
from simlab.common.tokens import verify_worker_token
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters.local_launcher import CPU_GRACE_S, LocalProcessLauncher, lowered
from simlab_runner.core.ports import ShardExit
from simlab_runner.core.registration import DEFAULT_LIMITS, RegistrationLimits

MiB = 1024 * 1024
LIMITS = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_CORE")
REPORT_LIMITS = (
    "import json, os, resource; print(json.dumps({name: resource.getrlimit(getattr(resource, name))"
    f" for name in {LIMITS}}} | {{'blas_threads': os.environ.get('OPENBLAS_NUM_THREADS')}}))"
)


def run_one(
    tmp_path: Path,
    kind: pb.JobKind,
    code: str,
    limits: RegistrationLimits = DEFAULT_LIMITS,
    token_ttl_s: float = 3600,
) -> tuple[ShardExit, bytes]:
    """Launches a one-shard job of this kind whose worker is `python -c code`; waits for it."""

    async def scenario() -> tuple[ShardExit, bytes]:
        recorder = Recorder()
        launcher = recorder.launcher(
            tmp_path, (sys.executable, "-c", code), limits=limits, token_ttl_s=token_ttl_s
        )
        await launcher.launch(pb.Job(job_id="j1", model="m", shards=1, kind=kind), 1)
        await asyncio.wait_for(recorder.ended.wait(), 30)
        await launcher.close()
        (exit_,) = recorder.exits
        return exit_, recorder.logs[("j1", 0)]

    return asyncio.run(scenario())


def test_a_registration_worker_runs_under_its_limits(tmp_path: Path) -> None:
    limits = RegistrationLimits(cpu_s=30, memory_mb=1024)
    exit_, log = run_one(tmp_path, pb.JOB_KIND_REGISTRATION, REPORT_LIMITS, limits)
    assert exit_.exit_code == 0, log
    assert json.loads(log) == {
        "RLIMIT_CPU": [30, 30 + CPU_GRACE_S],
        "RLIMIT_AS": [1024 * MiB, 1024 * MiB],
        "RLIMIT_CORE": [0, 0],
        "blas_threads": "1",
    }


def test_the_worker_and_its_libraries_start_within_the_default_limits(tmp_path: Path) -> None:
    code = (
        "import grpc, numpy, scipy.stats, simlab_worker; grpc.insecure_channel('127.0.0.1:1');"
        " a = numpy.ones((300, 300)); print((a @ a).sum())"
    )
    exit_, log = run_one(tmp_path, pb.JOB_KIND_REGISTRATION, code)
    assert exit_.exit_code == 0, log


def test_a_run_keeps_the_runners_limits(tmp_path: Path) -> None:
    exit_, log = run_one(tmp_path, pb.JOB_KIND_RUN, REPORT_LIMITS)
    assert exit_.exit_code == 0, log
    assert json.loads(log) == {
        **{name: list(resource.getrlimit(getattr(resource, name))) for name in LIMITS},
        "blas_threads": None,
    }


def test_a_registration_worker_that_spins_is_stopped_at_its_cpu_limit(tmp_path: Path) -> None:
    limits = RegistrationLimits(cpu_s=1)
    exit_, _ = run_one(tmp_path, pb.JOB_KIND_REGISTRATION, "while True: pass", limits)
    assert exit_.reason == "killed by SIGXCPU (CPU time limit reached)"


def test_a_registration_worker_cannot_take_more_memory(tmp_path: Path) -> None:
    code = "bytearray(512 * 1024 * 1024)"
    limits = RegistrationLimits(memory_mb=256)
    exit_, log = run_one(tmp_path, pb.JOB_KIND_REGISTRATION, code, limits)
    assert exit_.exit_code == 1
    assert b"MemoryError" in log


@pytest.mark.parametrize(
    ("wanted", "current", "result"),
    [
        ((10, 15), (resource.RLIM_INFINITY, resource.RLIM_INFINITY), (10, 15)),
        # Already lower: kept, since a process may not raise its limits.
        ((10, 15), (5, 12), (5, 12)),
        ((10, 15), (5, resource.RLIM_INFINITY), (5, 15)),
    ],
)
def test_limits_are_only_ever_lowered(
    wanted: tuple[int, int], current: tuple[int, int], result: tuple[int, int]
) -> None:
    assert lowered(wanted, current) == result


# Shard 0 ends at once; the others run until the file named by argv[1] exists (however slow
# the machine, exactly one shard has ended when the test launches again).
ENDS_WHEN_RELEASED = """
import os, sys, time
while os.environ["SIMLAB_WORKER_SHARD"] != "0" and not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
"""


def test_no_more_shards_run_at_once_than_the_jobs_parallelism(tmp_path: Path) -> None:
    """Launching again after a shard ended starts the next one; a finished shard never runs
    again, and a launch with every slot taken starts nothing."""

    release = tmp_path / "release"

    async def scenario() -> list[list[int]]:
        recorder = Recorder()
        launcher = recorder.launcher(
            tmp_path, (sys.executable, "-c", ENDS_WHEN_RELEASED, str(release))
        )
        job = pb.Job(job_id="j1", model="m", shards=3)
        running = []
        # Two launches at once (two shards' exits handled together) start 2, not 4.
        await asyncio.gather(launcher.launch(job, 2), launcher.launch(job, 2))
        running.append(sorted(shard for _, shard in launcher.watched))
        await launcher.launch(job, 2)
        running.append(sorted(shard for _, shard in launcher.watched))
        await asyncio.wait_for(recorder.ended.wait(), 30)
        await launcher.launch(job, 2)
        running.append(sorted(shard for _, shard in launcher.watched))
        release.touch()
        while len(recorder.exits) < 3:
            recorder.ended.clear()
            await asyncio.wait_for(recorder.ended.wait(), 30)
        await launcher.launch(job, 2)
        running.append(sorted(shard for _, shard in launcher.watched))
        await launcher.close()
        return running

    first, again, after_one, after_all = asyncio.run(scenario())
    assert first == again == [0, 1]
    assert len(after_one) == 2 and 2 in after_one
    assert after_all == []


def test_a_log_is_kept_when_the_job_is_forgotten_while_its_shard_ends(tmp_path: Path) -> None:
    """Shard 0 exits first and is still shipping its last output when shard 1's exit ends the
    job and the runner forgets it: shard 0's log is stored all the same."""
    release = tmp_path / "release"
    says = "import os, sys, time\nprint('shard', os.environ['SIMLAB_WORKER_SHARD'], flush=True)\n"

    class ForgetsOnTheLastExit(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.shipped = asyncio.Event()
            self.forgets: LocalProcessLauncher | None = None

        async def end(self, job_id: str, shard: int) -> None:
            if shard == 0:  # shard 0's last output is slow to ship
                release.touch()
                await self.shipped.wait()

        async def on_exit(self, exit_: ShardExit) -> None:
            await super().on_exit(exit_)
            if exit_.shard == 1 and self.forgets is not None:
                await self.forgets.forget(exit_.job_id)
                self.shipped.set()

    async def scenario() -> dict[tuple[str, int], bytes]:
        recorder = ForgetsOnTheLastExit()
        launcher = recorder.launcher(
            tmp_path, (sys.executable, "-c", says + ENDS_WHEN_RELEASED, str(release))
        )
        recorder.forgets = launcher
        await launcher.launch(pb.Job(job_id="j1", model="m", shards=2), 2)
        while len(recorder.exits) < 2:
            recorder.ended.clear()
            await asyncio.wait_for(recorder.ended.wait(), 30)
        await launcher.close()
        return recorder.logs

    logs = asyncio.run(scenario())
    assert logs[("j1", 0)] == b"shard 0\n"
    assert logs[("j1", 1)] == b"shard 1\n"


def test_shards_past_a_decided_stop_are_not_launched(tmp_path: Path) -> None:
    release = tmp_path / "release"
    waits = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]):\n    time.sleep(0.02)\n"

    async def scenario() -> list[int]:
        recorder = Recorder()
        launcher = recorder.launcher(tmp_path, (sys.executable, "-c", waits, str(release)))
        job = pb.Job(job_id="j1", model="m", shards=4)
        job.stop.CopyFrom(pb.StopInfo(reason=pb.STOP_REASON_PRECISION_REACHED, end_block=2))
        await launcher.launch(job, 4)
        running = sorted(shard for _, shard in launcher.watched)
        release.touch()
        while len(recorder.exits) < len(running):
            recorder.ended.clear()
            await asyncio.wait_for(recorder.ended.wait(), 30)
        await launcher.close()
        return running

    assert asyncio.run(scenario()) == [0, 1]


# Prints each token it reads from its file (when it changed), over 2.5 s, then its env.
READ_TOKENS = """
import json, os, time
path, seen = os.environ["SIMLAB_WORKER_TOKEN_FILE"], []
for _ in range(50):
    token = open(path).read()
    if not seen or seen[-1][0] != token:
        seen.append((token, time.time(), oct(os.stat(path).st_mode & 0o777)))
    time.sleep(0.05)
print(json.dumps({"seen": seen, "env": sorted(os.environ)}))
"""


def test_a_worker_reads_its_token_from_a_private_file_renewed_before_it_expires(
    tmp_path: Path,
) -> None:
    exit_, log = run_one(tmp_path, pb.JOB_KIND_RUN, READ_TOKENS, token_ttl_s=1.5)
    assert exit_.exit_code == 0, log
    out = json.loads(log)
    assert "SIMLAB_WORKER_TOKEN" not in out["env"] and "SIMLAB_WORKER_TOKEN_FILE" in out["env"]
    assert len(out["seen"]) >= 3  # renewed every 0.5 s
    for token, read_at, mode in out["seen"]:
        claims = verify_worker_token(SECRET, token, read_at)  # never seen expired
        assert (claims.job_id, claims.shard, claims.attempt) == ("j1", 0, 1)
        assert mode == "0o600"


def test_each_launch_of_a_shard_gets_a_later_attempt_that_a_restart_does_not_lower(
    tmp_path: Path,
) -> None:
    code = "import os; print(open(os.environ['SIMLAB_WORKER_TOKEN_FILE']).read())"

    def attempt() -> int:
        exit_, log = run_one(tmp_path, pb.JOB_KIND_RUN, code)
        assert exit_.exit_code == 0, log
        return verify_worker_token(SECRET, log.decode().splitlines()[-1], 0).attempt

    assert attempt() == 1
    (tmp_path / "state" / "j1" / "shard-0.exit").unlink()  # lost: launched again
    assert attempt() == 2
    record_file = tmp_path / "state" / "j1" / "shard-0.json"
    # A clean shutdown does not count the attempt it interrupted; the fence still moves on.
    record = json.loads(record_file.read_text())
    record_file.write_text(json.dumps({**record, "attempts": 1}))
    (tmp_path / "state" / "j1" / "shard-0.exit").unlink()
    assert attempt() == 3
