"""Which queued jobs start, and when: a fair share of a bounded number of workers.

A worker is one running shard (a local process, a pod). A job is given `slots` workers when it
starts, min(its shards, the per-user cap, the global cap), and holds them until it ends; its
shards run that many at a time. So a job with more shards than a cap starts once nothing else
of that cap is in use, then has all of it.

Waiting jobs are served first in, first out per user, and round-robin across users: after a
user's job starts, that user goes to the back of the line. A user whose own cap is full is
passed over (their running jobs free it); a job that waits for the global cap to free enough
workers is not overtaken, so a large job is never starved by a stream of small ones.

Pure: no I/O, no clock. The runner tells it what is queued, started and ended."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MAX_WORKERS_SETTING = "SIMLAB_RUNNER_MAX_WORKERS"
MAX_WORKERS_PER_USER_SETTING = "SIMLAB_RUNNER_MAX_WORKERS_PER_USER"


@dataclass(frozen=True)
class Admission:
    job_id: str
    user: str
    shards: int
    # How many of the job's shards may run at once.
    slots: int


@dataclass(frozen=True)
class _Waiting:
    job_id: str
    user: str
    shards: int


class FairScheduler:
    def __init__(self, max_workers: int, max_workers_per_user: int) -> None:
        if max_workers < 1 or max_workers_per_user < 1:
            raise ValueError("the caps must be at least 1")
        self.max_workers = max_workers
        self.max_workers_per_user = min(max_workers_per_user, max_workers)
        self._queues: dict[str, deque[_Waiting]] = {}
        # Users with waiting jobs, in the order they are served.
        self._turns: deque[str] = deque()
        self._waiting: dict[str, _Waiting] = {}
        self._held: dict[str, Admission] = {}
        self._in_use_by: dict[str, int] = {}
        self.in_use = 0

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

    def enqueue(self, job_id: str, user: str, shards: int) -> bool:
        """Puts a job at the end of its user's line; False if it is known already."""
        if self.knows(job_id):
            return False
        waiting = _Waiting(job_id, user, shards)
        self._waiting[job_id] = waiting
        queue = self._queues.setdefault(user, deque())
        if not queue:
            self._turns.append(user)
        queue.append(waiting)
        return True

    def hold(self, job_id: str, user: str, shards: int) -> Admission:
        """Records a job that runs already (found after a restart): its slots are in use."""
        if job_id in self._held:
            return self._held[job_id]
        self._drop_waiting(job_id)
        return self._take(_Waiting(job_id, user, shards))

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
        waiting = _Waiting(admission.job_id, admission.user, admission.shards)
        self._waiting[waiting.job_id] = waiting
        queue = self._queues.setdefault(admission.user, deque())
        if admission.user in self._turns:
            self._turns.remove(admission.user)
        self._turns.appendleft(admission.user)
        queue.appendleft(waiting)

    def running_jobs(self) -> list[str]:
        """The jobs holding slots."""
        return list(self._held)

    def admit(self) -> list[Admission]:
        """The waiting jobs that start now, in order; their slots are held from now on."""
        admitted: list[Admission] = []
        while (user := self._next_user()) is not None:
            head = self._queues[user][0]
            if self.in_use + self.slots_for(head.shards) > self.max_workers:
                break  # it waits for room, and nobody overtakes it
            self._queues[user].popleft()
            self._turns.remove(user)
            if self._queues[user]:
                self._turns.append(user)
            else:
                del self._queues[user]
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
            head = self._queues[user][0]
            if self.in_use_by(user) + self.slots_for(head.shards) <= self.max_workers_per_user:
                return user
        return None

    def _take(self, waiting: _Waiting) -> Admission:
        admission = Admission(
            waiting.job_id, waiting.user, waiting.shards, self.slots_for(waiting.shards)
        )
        self._held[waiting.job_id] = admission
        self.in_use += admission.slots
        self._in_use_by[waiting.user] = self.in_use_by(waiting.user) + admission.slots
        return admission

    def _drop_waiting(self, job_id: str) -> None:
        waiting = self._waiting.pop(job_id, None)
        if waiting is None:
            return
        queue = self._queues[waiting.user]
        queue.remove(waiting)
        if not queue:
            del self._queues[waiting.user]
            self._turns.remove(waiting.user)
