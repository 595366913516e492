"""Which queued jobs start, and when: a fair share of a bounded number of workers.

A worker is one running shard (a local process, a pod). A job is given `slots` workers when it
starts, min(its shards, the per-user cap, the global cap), and holds them until it ends; its
shards run that many at a time. So a job with more shards than a cap starts once nothing else
of that cap is in use, then has all of it.

Users take turns: after a user's job starts, that user goes to the back of the line. Within a
user, streams take turns the same way: each study is a stream, the user's standalone jobs are
one more; a stream that joins goes before the user's streams that were served already, so a
run submitted while the user's 10,000-point study waits starts at the next free worker, and a
second study interleaves with the first. Within a stream, first in, first out (a study's
points in index order). A user whose own cap is full is passed over (their running jobs free
it); a job that waits for the global cap to free enough workers is not overtaken, so a large
job is never starved by a stream of small ones.

Pure: no I/O, no clock. The runner tells it what is queued, started and ended."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

MAX_WORKERS_SETTING = "SIMLAB_RUNNER_MAX_WORKERS"
MAX_WORKERS_PER_USER_SETTING = "SIMLAB_RUNNER_MAX_WORKERS_PER_USER"


@dataclass(frozen=True)
class Admission:
    job_id: str
    user: str
    shards: int
    # How many of the job's shards may run at once.
    slots: int
    # A study's point: its study and index ("" and 0 for a standalone job).
    study_id: str = ""
    study_point: int = 0


@dataclass(eq=False)
class _Waiting:
    job_id: str
    user: str
    shards: int
    study_id: str
    study_point: int
    # Its place in its stream: the point's index in a study, the order of arrival otherwise.
    place: int
    # Left the line before its turn (cancelled): skipped when its stream reaches it.
    left: bool = False


@dataclass(eq=False)
class _Stream:
    """One study's waiting points, or a user's waiting standalone jobs, in order. Leaving is
    lazy: an entry that left stays in the heap until it comes up, so cancelling a study's
    10,000 waiting points costs 10,000 steps, not 10,000 searches of the line."""

    study_id: str
    # (place, arrival, job): arrival breaks ties.
    heap: list[tuple[int, int, _Waiting]] = field(default_factory=list)
    count: int = 0
    served: bool = False

    def head(self) -> _Waiting:
        while self.heap[0][2].left:
            heapq.heappop(self.heap)
        return self.heap[0][2]


class _UserLine:
    """A user's streams in the order they take turns: those not served since they joined
    first (in the order they joined), then those served, least recently served first."""

    def __init__(self) -> None:
        self.streams: deque[_Stream] = deque()
        self.by_study: dict[str, _Stream] = {}
        # streams[:unserved] are those not served since they joined.
        self.unserved = 0

    def head(self) -> _Waiting:
        return self.streams[0].head()

    def add(self, waiting: _Waiting, arrival: int, first: bool) -> None:
        """Puts `waiting` in its stream; `first`: its stream goes first (a job put back)."""
        stream = self.by_study.get(waiting.study_id)
        if stream is None:
            stream = self.by_study[waiting.study_id] = _Stream(waiting.study_id)
            self.streams.insert(0 if first else self.unserved, stream)
            self.unserved += 1
        elif first:
            self.streams.remove(stream)
            self.streams.appendleft(stream)
            if stream.served:
                stream.served = False
                self.unserved += 1
        heapq.heappush(stream.heap, (waiting.place, arrival, waiting))
        stream.count += 1

    def take_head(self) -> _Waiting:
        """The first stream's next job leaves the line; that stream goes to the back."""
        stream = self.streams.popleft()
        waiting = stream.head()
        heapq.heappop(stream.heap)
        if not stream.served:
            stream.served = True
            self.unserved -= 1
        self._left(stream)
        if stream.count:
            self.streams.append(stream)
        return waiting

    def drop(self, waiting: _Waiting) -> None:
        """`waiting` leaves the line from wherever it is."""
        stream = self.by_study[waiting.study_id]
        self._left(stream)
        if not stream.count:
            self.streams.remove(stream)
            if not stream.served:
                self.unserved -= 1

    def _left(self, stream: _Stream) -> None:
        stream.count -= 1
        if not stream.count:
            del self.by_study[stream.study_id]

    def __bool__(self) -> bool:
        return bool(self.streams)


class FairScheduler:
    def __init__(self, max_workers: int, max_workers_per_user: int) -> None:
        if max_workers < 1 or max_workers_per_user < 1:
            raise ValueError("the caps must be at least 1")
        self.max_workers = max_workers
        self.max_workers_per_user = min(max_workers_per_user, max_workers)
        self._lines: dict[str, _UserLine] = {}
        # Users with waiting jobs, in the order they are served.
        self._turns: deque[str] = deque()
        self._waiting: dict[str, _Waiting] = {}
        self._held: dict[str, Admission] = {}
        self._in_use_by: dict[str, int] = {}
        self.in_use = 0
        self._arrivals = itertools.count()
        # Places before every other: a standalone job put back is first in its stream.
        self._front = itertools.count(-1, -1)

    def slots_for(self, shards: int) -> int:
        return max(1, min(shards, self.max_workers_per_user))

    def knows(self, job_id: str) -> bool:
        return job_id in self._waiting or job_id in self._held

    def is_waiting(self, job_id: str) -> bool:
        return job_id in self._waiting

    def held(self, job_id: str) -> Admission | None:
        return self._held.get(job_id)

    def in_use_by(self, user: str) -> int:
        return self._in_use_by.get(user, 0)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def enqueue(
        self, job_id: str, user: str, shards: int, study_id: str = "", study_point: int = 0
    ) -> bool:
        """Puts a job at the end of its stream (a study's points in index order); False if
        it is known already."""
        if self.knows(job_id):
            return False
        arrival = next(self._arrivals)
        place = study_point if study_id else arrival
        self._add(_Waiting(job_id, user, shards, study_id, study_point, place), arrival)
        return True

    def hold(self, job_id: str, user: str, shards: int) -> Admission:
        """Records a job that runs already (found after a restart): its slots are in use."""
        if job_id in self._held:
            return self._held[job_id]
        self._drop_waiting(job_id)
        return self._take(_Waiting(job_id, user, shards, "", 0, 0))

    def release(self, job_id: str) -> None:
        """The job ended, or left the queue (cancelled): what it held or waited for is free."""
        self._drop_waiting(job_id)
        admission = self._held.pop(job_id, None)
        if admission is not None:
            self.in_use -= admission.slots
            left = self._in_use_by[admission.user] - admission.slots
            if left:
                self._in_use_by[admission.user] = left
            else:
                del self._in_use_by[admission.user]

    def put_back(self, admission: Admission) -> None:
        """An admitted job that could not start after all: first in line again, its slots
        free. Put back several in the reverse of their admission order."""
        self.release(admission.job_id)
        place = admission.study_point if admission.study_id else next(self._front)
        waiting = _Waiting(
            admission.job_id,
            admission.user,
            admission.shards,
            admission.study_id,
            admission.study_point,
            place,
        )
        self._add(waiting, next(self._arrivals), first=True)

    def running_jobs(self) -> list[str]:
        """The jobs holding slots."""
        return list(self._held)

    def admit(self) -> list[Admission]:
        """The waiting jobs that start now, in order; their slots are held from now on."""
        admitted: list[Admission] = []
        while (user := self._next_user()) is not None:
            line = self._lines[user]
            if self.in_use + self.slots_for(line.head().shards) > self.max_workers:
                break  # it waits for room, and nobody overtakes it
            head = line.take_head()
            self._turns.remove(user)
            if line:
                self._turns.append(user)
            else:
                del self._lines[user]
            del self._waiting[head.job_id]
            admitted.append(self._take(head))
        return admitted

    def why_waiting(self, job_id: str) -> str:
        """Why a waiting job has not started, in words for its owner."""
        waiting = self._waiting[job_id]
        slots = self.slots_for(waiting.shards)
        if self.in_use + slots > self.max_workers:
            reason = (
                f"waiting for a worker: all {self.max_workers} workers are in use"
                f" ({MAX_WORKERS_SETTING})"
            )
        elif self.in_use_by(waiting.user) + slots > self.max_workers_per_user:
            reason = (
                f"waiting for a worker: {waiting.user}'s jobs use all"
                f" {self.max_workers_per_user} workers a user may have"
                f" ({MAX_WORKERS_PER_USER_SETTING})"
            )
        else:
            reason = (
                f"waiting for a worker: earlier jobs wait for the {self.max_workers} workers"
                f" ({MAX_WORKERS_SETTING})"
            )
        if slots < waiting.shards:
            reason += f"; its {waiting.shards} shards will run {slots} at a time"
        return reason

    def _next_user(self) -> str | None:
        """The first user in line whose own cap has room for their next job."""
        for user in self._turns:
            head = self._lines[user].head()
            if self.in_use_by(user) + self.slots_for(head.shards) <= self.max_workers_per_user:
                return user
        return None

    def _add(self, waiting: _Waiting, arrival: int, first: bool = False) -> None:
        self._waiting[waiting.job_id] = waiting
        line = self._lines.get(waiting.user)
        if line is None:
            line = self._lines[waiting.user] = _UserLine()
            self._turns.append(waiting.user)
        if first:
            self._turns.remove(waiting.user)
            self._turns.appendleft(waiting.user)
        line.add(waiting, arrival, first)

    def _take(self, waiting: _Waiting) -> Admission:
        admission = Admission(
            waiting.job_id,
            waiting.user,
            waiting.shards,
            self.slots_for(waiting.shards),
            waiting.study_id,
            waiting.study_point,
        )
        self._held[waiting.job_id] = admission
        self.in_use += admission.slots
        self._in_use_by[waiting.user] = self.in_use_by(waiting.user) + admission.slots
        return admission

    def _drop_waiting(self, job_id: str) -> None:
        waiting = self._waiting.pop(job_id, None)
        if waiting is None:
            return
        waiting.left = True
        line = self._lines[waiting.user]
        line.drop(waiting)
        if not line:
            del self._lines[waiting.user]
            self._turns.remove(waiting.user)
