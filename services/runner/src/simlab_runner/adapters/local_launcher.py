"""Runs each shard as a local worker process: the embedded default of `make run`.

Workers run in their own sessions, so they outlive a crashed runner like pods do; what the
runner needs to find them again lives under its state directory, one folder per job:
shard-<i>.json (pid, start time, attempts, launches), shard-<i>.log (the worker's output),
shard-<i>.exit (exit code, when the runner reaped it), shard-<i>.token (the worker's token,
0600, replaced whole every WorkerTokens.renew_every_s while the shard runs).

A registration job's worker (it imports pushed code) runs under resource limits set in the
child before it execs: CPU seconds, address space, no core dump.

With the warm start (adapters.zygote) a run's worker is forked from a process that imported
the worker and its libraries once, in a session of its own with its own environment and log,
exactly as a spawned one; a registration worker is always spawned (its limits and single
BLAS thread must hold from its first instruction). Until the zygote is ready, or when it
cannot fork, a worker is spawned.

While a shard runs, what it appends to its log is shipped to the live log every
FOLLOW_INTERVAL_S (a short read of a local file; nothing to watch), and once more, with the
end of the shard, when the process is gone."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import resource
import shutil
import signal
import sys
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

from simlab.transport.precision import shards_with_blocks
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters.worker_tokens import WorkerTokens
from simlab_runner.adapters.zygote import WorkerProcess, Zygote
from simlab_runner.core.decisions import MAX_ATTEMPTS, describe_exit
from simlab_runner.core.ports import ExitHandler, LiveLog, LogSink, ShardExit
from simlab_runner.core.registration import DEFAULT_LIMITS, RegistrationLimits, is_registration

log = logging.getLogger("runner")
LOG_TAIL_LINES = 40
FOLLOW_INTERVAL_S = 0.2
MAX_READ = 1024 * 1024
WORKER_COMMAND = (sys.executable, "-m", "simlab_worker")
# What the warm start imports besides the worker's entry point: what shards import later,
# slowly (SciPy in the models, gRPC's channel, matplotlib for the plot and the image formats
# Pillow loads at its first save).
WARM_IMPORTS = (
    "grpc._channel",
    "scipy.optimize",
    "scipy.special",
    "scipy.stats",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.ticker",
    "PIL.BmpImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.JpegImagePlugin",
    "PIL.PpmImagePlugin",
    "PIL.PngImagePlugin",
)
# Past its CPU seconds a registration worker gets SIGXCPU (it ends; the runner says why), and
# SIGKILL this much later if it handled that signal.
CPU_GRACE_S = 5
# A resource limit: (resource.RLIMIT_*, (soft, hard)).
Rlimit = tuple[int, tuple[int, int]]
# RLIMIT_AS bounds address space, not memory used: every BLAS thread (one per core, in NumPy
# and in SciPy) reserves some 40 MiB and glibc 64 MiB per thread arena, so on a many-core
# host importing NumPy alone would pass the limit. Inspecting code needs one thread.
REGISTRATION_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
}


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - 64 * 1024))
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
    except FileNotFoundError:
        return ""


class LogFollower:
    """Ships what one running shard appends to its log file, from `offset` on."""

    def __init__(self, path: Path, offset: int, job_id: str, shard: int, live: LiveLog) -> None:
        self.path = path
        self.offset = offset
        self.job_id = job_id
        self.shard = shard
        self.live = live
        self.stopping = asyncio.Event()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self.stopping.is_set():
            await self._ship()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), FOLLOW_INTERVAL_S)

    async def _ship(self) -> None:
        while data := await asyncio.to_thread(self._read):
            await self.live.publish(self.job_id, self.shard, data)

    def _read(self) -> bytes:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read(MAX_READ)
        except FileNotFoundError:
            return b""
        self.offset += len(data)
        return data

    async def stop(self) -> None:
        # Not cancelled: a piece read but not yet published would be lost.
        self.stopping.set()
        await self.task

    async def finish(self) -> None:
        """The process is gone: ships its last output, then says the shard ended."""
        await self.stop()
        await self._ship()
        await self.live.end(self.job_id, self.shard)


def lowered(wanted: tuple[int, int], current: tuple[int, int]) -> tuple[int, int]:
    """The (soft, hard) limits `wanted`, as far as a process may set them: lowering a limit
    is allowed, raising one is not, so one already below stays as it is."""

    def at_most(limit: int, now: int) -> int:
        return limit if now == resource.RLIM_INFINITY else min(limit, now)

    return at_most(wanted[0], current[0]), at_most(wanted[1], current[1])


def registration_rlimits(limits: RegistrationLimits) -> list[Rlimit]:
    """The limits of a registration worker, within the runner's own."""
    memory = limits.memory_mb * 1024 * 1024
    wanted = [
        (resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + CPU_GRACE_S)),
        (resource.RLIMIT_AS, (memory, memory)),
        # A worker killed by SIGXCPU would otherwise dump up to its whole address space.
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    return [(which, lowered(limit, resource.getrlimit(which))) for which, limit in wanted]


def _apply_rlimits(rlimits: Sequence[Rlimit]) -> None:
    # Runs in the child between fork and exec: computed beforehand, nothing but system calls.
    for which, limit in rlimits:
        resource.setrlimit(which, limit)


async def spawn(
    command: Sequence[str],
    env: Mapping[str, str],
    out: IO[bytes],
    rlimits: Sequence[Rlimit] = (),
) -> WorkerProcess:
    """Starts a worker in a session of its own (it outlives the runner, as a pod would),
    writing to `out`, under `rlimits`."""
    process = await asyncio.create_subprocess_exec(
        *command,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        start_new_session=True,
        preexec_fn=functools.partial(_apply_rlimits, list(rlimits)) if rlimits else None,
    )
    try:
        started = psutil.Process(process.pid).create_time()
    except psutil.NoSuchProcess:
        # Ended and reaped already (asyncio's child watcher reaps at once, and a loaded runner
        # may get here late): no live process will ever match this start time.
        started = 0.0
    return WorkerProcess(process.pid, started, asyncio.ensure_future(process.wait()))


class LocalProcessLauncher:
    def __init__(
        self,
        state_dir: Path,
        worker_env: dict[str, str],
        on_exit: ExitHandler,
        store_log: LogSink,
        live_log: LiveLog,
        tokens: WorkerTokens,
        grace_s: float = 10.0,
        registration: RegistrationLimits = DEFAULT_LIMITS,
        command: Sequence[str] = WORKER_COMMAND,
        warm_start: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.worker_env = worker_env
        self.on_exit = on_exit
        self.store_log = store_log
        self.live_log = live_log
        self.tokens = tokens
        self.grace_s = grace_s
        self.registration = registration
        self.command = command
        # (job_id, shard) -> the task that waits for that process to end
        self.watched: dict[tuple[str, int], asyncio.Task[None]] = {}
        self.pids: dict[tuple[str, int], int] = {}
        self.followers: dict[tuple[str, int], LogFollower] = {}
        self.renewing: asyncio.Task[None] | None = None
        self.launching = asyncio.Lock()
        state_dir.mkdir(parents=True, exist_ok=True)
        # Only a `python -m MODULE ARGS...` command can start warm: the zygote runs MODULE.
        self.zygote = (
            Zygote(command[0], command[2], WARM_IMPORTS, worker_env, state_dir / "warm-start.log")
            if warm_start and len(command) > 2 and command[1] == "-m"
            else None
        )

    async def warm_up(self) -> None:
        """Starts the warm start's process, if there is one, so that it is ready early."""
        if self.zygote is not None:
            await self.zygote.start()

    def _file(self, job_id: str, shard: int, suffix: str) -> Path:
        return self.state_dir / job_id / f"shard-{shard}.{suffix}"

    def _record(self, job_id: str, shard: int) -> dict[str, int | float]:
        try:
            return dict(json.loads(self._file(job_id, shard, "json").read_text()))
        except FileNotFoundError:
            return {}

    def _exit_code(self, job_id: str, shard: int) -> int | None:
        try:
            return int(self._file(job_id, shard, "exit").read_text())
        except FileNotFoundError:
            return None

    def log_path(self, job_id: str, shard: int) -> Path:
        return self._file(job_id, shard, "log")

    async def launch(self, job: pb.Job, parallelism: int) -> None:
        # One launch at a time: two shards ending together each launch the job again, and
        # both would otherwise pick the same next shard, past the job's parallelism.
        async with self.launching:
            live = self.live_shards(job.job_id)
            for shard in range(shards_with_blocks(job)):
                if live >= parallelism:
                    return
                key = (job.job_id, shard)
                if key in self.watched or self._exit_code(job.job_id, shard) == 0:
                    continue
                await self._start(job.job_id, shard, is_registration(job))
                live += 1

    async def resume(self, job: pb.Job, parallelism: int) -> str | None:
        # A shard lost while the runner was away resumes from its recorded blocks, so a
        # relaunch reproduces the same result; one lost too often is given up.
        for shard in range(shards_with_blocks(job)):
            if (job.job_id, shard) in self.watched or self.finished(job.job_id, shard):
                continue
            attempts = self.attempts(job.job_id, shard)
            if attempts >= MAX_ATTEMPTS:
                return f"shard {shard} was lost {attempts} times; giving up"
        await self.launch(job, parallelism)
        return None

    def _write_token(self, job_id: str, shard: int, launch: int) -> Path:
        """The token of this launch of the shard, replacing the file whole: a worker reading
        it meanwhile sees the old token or the new one. Private to the runner's user."""
        path = self._file(job_id, shard, "token")
        draft = path.with_suffix(".token-new")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.tokens.mint(job_id, shard, launch))
        os.replace(draft, path)
        return path

    async def _renew_tokens(self) -> None:
        """While shards run, their tokens are renewed long before they expire."""
        while True:
            await asyncio.sleep(self.tokens.renew_every_s)
            for job_id, shard in list(self.watched):
                launch = self._launches(self._record(job_id, shard))
                with contextlib.suppress(FileNotFoundError):  # forgotten meanwhile
                    self._write_token(job_id, shard, launch)

    @staticmethod
    def _launches(record: dict[str, int | float]) -> int:
        # Never lowered (unlike attempts): the job store fences off every earlier launch.
        return int(record.get("launches", record.get("attempts", 0)))

    async def _start(self, job_id: str, shard: int, registration: bool) -> None:
        record = self._record(job_id, shard)
        attempts = int(record.get("attempts", 0)) + 1
        launch = self._launches(record) + 1
        self._file(job_id, shard, "exit").unlink(missing_ok=True)
        log_file = self.log_path(job_id, shard)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        token_file = self._write_token(job_id, shard, launch)
        rlimits = registration_rlimits(self.registration) if registration else []
        env = {
            **self.worker_env,
            **(REGISTRATION_ENV if registration else {}),
            "SIMLAB_WORKER_JOB_ID": job_id,
            "SIMLAB_WORKER_SHARD": str(shard),
            "SIMLAB_WORKER_TOKEN_FILE": str(token_file),
        }
        with log_file.open("ab") as out:
            # Earlier attempts' output was shipped while they ran.
            offset = out.tell()
            worker = None
            if self.zygote is not None and not registration:
                worker = await self.zygote.fork(self.command[3:], env, os.getcwd(), out)
            if worker is None:
                worker = await spawn(self.command, env, out, rlimits)
        self._follow(job_id, shard, offset)
        record = {"pid": worker.pid, "started": worker.started, "attempts": attempts}
        self._file(job_id, shard, "json").write_text(json.dumps(record | {"launches": launch}))
        log.info("shard started", extra={"job_id": job_id, "shard": shard, "pid": worker.pid})
        self._watch(job_id, shard, worker.pid, self._reap(job_id, shard, worker, attempts))

    def _follow(self, job_id: str, shard: int, offset: int) -> None:
        path = self.log_path(job_id, shard)
        self.followers[(job_id, shard)] = LogFollower(path, offset, job_id, shard, self.live_log)

    def _watch(self, job_id: str, shard: int, pid: int, waiter: Coroutine[Any, Any, None]) -> None:
        if self.renewing is None:
            self.renewing = asyncio.ensure_future(self._renew_tokens())
        key = (job_id, shard)
        self.pids[key] = pid
        task = asyncio.ensure_future(waiter)
        self.watched[key] = task
        task.add_done_callback(lambda _: self._unwatch(key, task))

    def _unwatch(self, key: tuple[str, int], task: asyncio.Task[None]) -> None:
        if self.watched.get(key) is task:
            del self.watched[key]
            self.pids.pop(key, None)

    async def _reap(self, job_id: str, shard: int, worker: WorkerProcess, attempts: int) -> None:
        code = await worker.exit_code
        if code is None:
            # Its zygote died first: it lives on (or ended) as a process the runner did not
            # start, and is lost like one.
            await _gone(worker.pid)
            reason = "its exit code was lost with the warm start process"
            await self._report(job_id, shard, None, reason, attempts)
            return
        self._file(job_id, shard, "exit").write_text(str(code))
        await self._report(job_id, shard, code, describe_exit(code), attempts)

    async def _await_foreign(self, job_id: str, shard: int, pid: int, attempts: int) -> None:
        await _gone(pid)
        await self._report(
            job_id, shard, None, "process vanished while the runner was away", attempts
        )

    async def _report(
        self, job_id: str, shard: int, code: int | None, reason: str, attempts: int
    ) -> None:
        log.info("shard ended", extra={"job_id": job_id, "shard": shard, "exit_code": code})
        # The process is gone: nothing may signal its pid any more.
        self.pids.pop((job_id, shard), None)
        follower = self.followers.pop((job_id, shard), None)
        if follower is not None:
            await follower.finish()
        path = self.log_path(job_id, shard)
        if path.exists():
            await self.store_log(job_id, shard, await asyncio.to_thread(path.read_bytes))
        # Only now is its slot free for the launch its exit may cause: while the shard is
        # watched, forget() (the job ended by its other shard) leaves the log in place.
        self.watched.pop((job_id, shard), None)
        exit_ = ShardExit(job_id, shard, code, reason, tail(self.log_path(job_id, shard)), attempts)
        try:
            await self.on_exit(exit_)
        except Exception:
            log.exception("handling a shard's exit failed", extra={"job_id": job_id})

    async def adopt(self) -> dict[str, set[int]]:
        live: dict[str, set[int]] = {}
        for record_file in sorted(self.state_dir.glob("*/shard-*.json")):
            job_id = record_file.parent.name
            shard = int(record_file.stem.removeprefix("shard-"))
            if (job_id, shard) in self.watched:
                live.setdefault(job_id, set()).add(shard)
                continue
            record = self._record(job_id, shard)
            if self._alive(record):
                pid = int(record["pid"])
                attempts = int(record.get("attempts", 1))
                # Its token may have expired while the runner was away.
                self._write_token(job_id, shard, self._launches(record))
                # What it wrote while the runner was away is in the stored log at its end.
                log_file = self.log_path(job_id, shard)
                self._follow(job_id, shard, log_file.stat().st_size if log_file.exists() else 0)
                self._watch(job_id, shard, pid, self._await_foreign(job_id, shard, pid, attempts))
                live.setdefault(job_id, set()).add(shard)
            else:
                live.setdefault(job_id, set())
        return live

    def attempts(self, job_id: str, shard: int) -> int:
        return int(self._record(job_id, shard).get("attempts", 0))

    def finished(self, job_id: str, shard: int) -> bool:
        return self._exit_code(job_id, shard) == 0

    @staticmethod
    def _alive(record: dict[str, int | float]) -> bool:
        try:
            process = psutil.Process(int(record["pid"]))
            return abs(process.create_time() - float(record["started"])) < 0.01 and (
                process.status() != psutil.STATUS_ZOMBIE
            )
        except (KeyError, psutil.NoSuchProcess):
            return False

    async def stop(self, job_id: str) -> None:
        keys = [key for key in self.watched if key[0] == job_id]
        await self._terminate(keys)

    async def _terminate(self, keys: list[tuple[str, int]]) -> None:
        for key in keys:
            _signal(self.pids.get(key), signal.SIGTERM)
        tasks = [self.watched[key] for key in keys if key in self.watched]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.grace_s)
            if pending:
                for key in keys:
                    _signal(self.pids.get(key), signal.SIGKILL)
                await asyncio.wait(pending, timeout=5)

    def live_shards(self, job_id: str) -> int:
        return sum(1 for key in self.watched if key[0] == job_id)

    async def forget(self, job_id: str) -> None:
        if not any(key[0] == job_id for key in self.watched):
            shutil.rmtree(self.state_dir / job_id, ignore_errors=True)

    async def close(self, stop_workers: bool = False) -> None:
        """Stops watching. With stop_workers (the embedded mode's clean shutdown) the workers
        are stopped too, and that interrupted attempt is not counted against the shard."""
        if self.renewing is not None:
            self.renewing.cancel()
        keys = list(self.watched)
        if stop_workers:
            for job_id, shard in keys:
                record = self._record(job_id, shard)
                record["attempts"] = max(0, int(record.get("attempts", 1)) - 1)
                self._file(job_id, shard, "json").write_text(json.dumps(record))
            # Nobody should react to these exits: they are ours.
            self.on_exit = _ignore
            await self._terminate(keys)
        for task in list(self.watched.values()):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.watched.values(), return_exceptions=True)
        if self.zygote is not None:
            await self.zygote.close()
        for follower in self.followers.values():
            await follower.stop()
        self.followers.clear()


async def _gone(pid: int) -> None:
    """Waits for a process that is not our child to end, via a pidfd: no polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    gone = loop.create_future()
    loop.add_reader(fd, _resolve, gone)
    try:
        await gone
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _ignore(_: ShardExit) -> None:
    return None


def _signal(pid: int | None, sig: signal.Signals) -> None:
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # Each worker leads its own session: signal the group, in case the model forked.
        os.killpg(pid, sig)
