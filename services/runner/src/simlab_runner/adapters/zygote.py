"""The local launcher's warm start: one long-lived process (a zygote, the idea of
multiprocessing's forkserver) that imports the worker and its heavy libraries once, then forks
each worker from that state instead of a fresh interpreter importing them again (about 0.5 s
of CPU a worker, and 1.5 s more in the shard that draws the plot with matplotlib).

`python -m simlab_runner.adapters.zygote FD MODULE [IMPORT...]` imports MODULE.__main__ and
each IMPORT, then serves the launcher over the Unix socket it inherited as descriptor FD
(SOCK_SEQPACKET, one JSON message each way):
- launcher -> zygote {"argv", "env", "cwd"}, with the worker's log file attached: it forks a
  child that leads its own session, with /dev/null as stdin, the log as stdout and stderr,
  that environment and working directory and no other open file, and answers {"pid",
  "started"} (the child's creation time, as psutil gives it), or {"error"} if it cannot fork.
  The child runs MODULE as `python -m MODULE ARGV...` would and ends as that process would
  (see run_as_main).
- zygote -> launcher {"ready": true} once imported; {"exited": pid, "status": wait status}
  when a child it forked ended.

A child starts the worker only after its pid is on its way to the launcher: should the zygote
die before, the child exits unseen and the launcher spawns that worker afresh, so a shard
never starts twice (should it die right after, the child exits all the same, and the
launcher, which has its pid, sees the shard lost). The zygote ends when the launcher closes
the socket (the runner stopped or died); its workers live on in their own sessions, like
spawned ones.

Nothing runs beside the zygote's main thread when it forks: importing NumPy and SciPy starts
their OpenBLAS thread pools, but OpenBLAS stops them before a fork (pthread_atfork) and a child
starts its own at its first BLAS call, sized as a fresh worker's (the zygote runs with the
workers' environment). Its imports open no file and start no gRPC channel. What a fresh
process would draw at random is drawn afresh in each child: Python's `random` reseeds itself
after a fork and NumPy's global generator is reseeded here."""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import gc
import importlib
import json
import logging
import os
import runpy
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

log = logging.getLogger("runner")
MAX_MESSAGE = 1024 * 1024
# A zygote that has not answered a fork by then is killed (the launch then spawns).
FORK_TIMEOUT_S = 10.0
# A zygote that died before it was ready is started again after this long, doubled each time
# it fails again (a broken import would fail every time).
RETRY_S = 1.0
MAX_RETRY_S = 300.0


# --- the zygote process ---------------------------------------------------------------------


def main() -> None:
    channel_fd, module, *imports = sys.argv[1:]
    added = interpreter_environment()
    preload(module, imports)
    forked = serve(socket.socket(fileno=int(channel_fd)))
    if forked is not None:  # in a child
        request, log_fd = forked
        become_worker(request, log_fd, added)
        os._exit(run_as_main(module, request["argv"]))


def preload(module: str, imports: Sequence[str]) -> None:
    for name in (f"{module}.__main__", *imports):
        importlib.import_module(name)
    # What the entry point imports stays; it runs afresh as __main__ in each child, as
    # `python -m` runs it (runpy warns of a copy left in sys.modules).
    del sys.modules[f"{module}.__main__"]
    # What the imports made is never garbage: children's collections skip it, rather than
    # walk it (and copy its pages) at every full collection.
    gc.freeze()


def serve(channel: socket.socket) -> tuple[dict[str, Any], int] | None:
    """Forks workers and reports their exits until the launcher closes the channel (None);
    returns in each child, with its request and its log's descriptor."""
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ)
    children: dict[int, int] = {}  # pidfd -> pid
    try:
        _send(channel, {"ready": True})
        while True:
            for key, _ in selector.select():
                if key.fileobj is channel:
                    message, fds, _, _ = socket.recv_fds(channel, MAX_MESSAGE, 1)
                    if not message:
                        return None
                    forked = _fork(channel, selector, children, json.loads(message), fds[0])
                    if forked is not None:
                        return forked
                else:
                    pid = children.pop(key.fd)
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    _, status = os.waitpid(pid, 0)
                    _send(channel, {"exited": pid, "status": status})
    except (BrokenPipeError, ConnectionResetError):
        return None


def _fork(
    channel: socket.socket,
    selector: selectors.BaseSelector,
    children: dict[int, int],
    request: dict[str, Any],
    log_fd: int,
) -> tuple[dict[str, Any], int] | None:
    """In the zygote: forks a child for the request and answers (None). In the child: returns
    the request and the log once the launcher has its pid."""
    go_read, go_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as error:
        for fd in (go_read, go_write, log_fd):
            os.close(fd)
        _send(channel, {"error": str(error)})
        return None
    if pid == 0:
        os.close(go_write)
        selector.close()
        channel.close()
        for pidfd in children:
            os.close(pidfd)
        if not os.read(go_read, 1):  # the zygote died before the launcher heard of us
            os._exit(1)
        os.close(go_read)
        return request, log_fd
    os.close(go_read)
    os.close(log_fd)
    pidfd = os.pidfd_open(pid)
    children[pidfd] = pid
    selector.register(pidfd, selectors.EVENT_READ)
    try:
        _send(channel, {"pid": pid, "started": psutil.Process(pid).create_time()})
        os.write(go_write, b"1")
    finally:
        os.close(go_write)
    return None


def interpreter_environment() -> dict[str, str]:
    """What this interpreter added to the environment it was started with (LC_CTYPE, when it
    coerced the C locale: PEP 538); a fresh worker, started with the same locale settings,
    would add the same."""
    with open("/proc/self/environ", "rb") as environ:
        given = {entry.split(b"=", 1)[0] for entry in environ.read().split(b"\0")}
    return {name: value for name, value in os.environ.items() if os.fsencode(name) not in given}


def become_worker(request: dict[str, Any], log_fd: int, added: Mapping[str, str]) -> None:
    """In a forked child: what a spawned worker starts with (see the module's docstring)."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update({**added, **request["env"]})
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def run_as_main(module: str, argv: Sequence[str]) -> int:
    """Runs MODULE as `python -m MODULE ARGV...` would; its exit code. It ends as that
    interpreter would (uncaught exception printed, other threads joined, atexit handlers
    run, output flushed), less the teardown of every object inherited from the zygote,
    which would take a tenth of a second to free what the process is about to drop."""
    sys.argv = [sys.argv[0], *argv]
    interrupted = False
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = _system_exit_code(exit_.code)
    except BaseException as error:
        sys.excepthook(type(error), error, error.__traceback__)
        interrupted = isinstance(error, KeyboardInterrupt)
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if interrupted:  # as Python ends on Ctrl-C: killed by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def _system_exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _send(channel: socket.socket, message: dict[str, Any]) -> None:
    channel.send(json.dumps(message).encode())


# --- the launcher's end ----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerProcess:
    """A worker as the launcher watches it, forked here or spawned."""

    pid: int
    # Its creation time, which tells it from a later process given the same pid.
    started: float
    # Its exit code, as asyncio's Process.wait() gives it; None if it was lost with the
    # zygote that forked it.
    exit_code: Awaitable[int | None]


class Zygote:
    """Starts the zygote and asks it for workers. One that died is started again at the next
    fork; meanwhile, and until it is ready, fork() answers None and the launcher spawns."""

    def __init__(
        self,
        python: str,
        module: str,
        imports: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.python = python
        # What it imports: the module it runs, then these.
        self.imports = [module, *imports]
        self.env = dict(env)
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.channel: socket.socket | None = None
        self.ready = False
        self.closed = False
        # Forks asked for, in order; answered in that order (None: not forked).
        self.replies: collections.deque[asyncio.Future[dict[str, Any] | None]] = collections.deque()
        self.exits: dict[int, asyncio.Future[int | None]] = {}
        self.retry_s = RETRY_S
        self.start_at = 0.0
        self.watching: asyncio.Task[None] | None = None
        self.starting = asyncio.Lock()

    async def start(self) -> None:
        """Starts a zygote unless one runs or a failed one's retry is not due yet."""
        async with self.starting:
            if self.closed or self.process is not None or time.monotonic() < self.start_at:
                return
            await self._start()

    async def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self.log_path.open("wb") as out:
                self.process = await asyncio.create_subprocess_exec(
                    self.python,
                    "-m",
                    __name__,
                    str(theirs.fileno()),
                    *self.imports,
                    env=self.env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    # Its own session: a Ctrl-C meant for the runner's terminal is not for it.
                    start_new_session=True,
                    pass_fds=(theirs.fileno(),),
                )
        except OSError:
            log.exception("the warm start could not start; workers are spawned")
            ours.close()
            self._failed()
            return
        finally:
            theirs.close()
        ours.setblocking(False)
        self.channel = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._receive)
        self.watching = asyncio.ensure_future(self._watch(self.process))

    async def fork(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: str, out: IO[bytes]
    ) -> WorkerProcess | None:
        """A worker forked with this argv (after the module), environment and working
        directory, writing to `out`; None when the zygote cannot fork it."""
        await self.start()
        if not self.ready or self.channel is None:
            return None
        request = json.dumps({"argv": list(argv), "env": dict(env), "cwd": cwd}).encode()
        try:
            socket.send_fds(self.channel, [request], [out.fileno()])
        except OSError as error:  # not sent: the zygote never sees it
            log.warning("the warm start refused a worker (%s); spawning it", error)
            return None
        reply: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self.replies.append(reply)
        try:
            answer = await asyncio.wait_for(asyncio.shield(reply), FORK_TIMEOUT_S)
        except TimeoutError:
            log.warning("the warm start did not answer; killing it")
            self._kill()
            # Answered before the end of its messages: a pid it sent, or None.
            answer = await reply
        if answer is None or "pid" not in answer:
            return None
        pid = int(answer["pid"])
        return WorkerProcess(pid, float(answer["started"]), self.exits[pid])

    def _receive(self) -> None:
        assert self.channel is not None
        while True:
            try:
                data = self.channel.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            self._handle(json.loads(data))

    def _handle(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            self.ready = True
            self.retry_s = RETRY_S
            log.info("warm start ready", extra={"pid": self.process and self.process.pid})
        elif "exited" in message:
            exit_code = self.exits.pop(int(message["exited"]), None)
            if exit_code is not None and not exit_code.done():
                exit_code.set_result(os.waitstatus_to_exitcode(int(message["status"])))
        else:
            if "pid" in message:
                self.exits[int(message["pid"])] = asyncio.get_running_loop().create_future()
            else:
                log.warning("the warm start could not fork: %s", message.get("error"))
            reply = self.replies.popleft()
            if not reply.done():
                reply.set_result(message)

    def _lost(self) -> None:
        """The channel ended: the zygote is gone, with the exit codes of its running workers."""
        assert self.channel is not None
        asyncio.get_running_loop().remove_reader(self.channel.fileno())
        self.channel.close()
        self.channel = None
        if not self.ready:
            self._failed()
        self.ready = False
        self.process = None
        for reply in self.replies:
            if not reply.done():
                reply.set_result(None)
        self.replies.clear()
        for exit_code in self.exits.values():
            if not exit_code.done():
                exit_code.set_result(None)
        self.exits.clear()

    def _failed(self) -> None:
        self.start_at = time.monotonic() + self.retry_s
        self.retry_s = min(2 * self.retry_s, MAX_RETRY_S)

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if not self.closed:
            log.warning(
                "the warm start process ended; workers are spawned until it is started again",
                extra={"exit_code": code, "log_tail": _tail(self.log_path)},
            )

    def _kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)

    async def close(self) -> None:
        """Ends the zygote (it exits when its channel closes); its workers live on."""
        self.closed = True
        process = self.process
        if self.channel is not None:
            self._lost()
        if process is not None:
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self.watching is not None:
            await self.watching


def _tail(path: Path) -> str:
    try:
        return path.read_bytes()[-4000:].decode(errors="replace")
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    main()
