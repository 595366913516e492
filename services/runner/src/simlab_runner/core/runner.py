"""The runner's logic, over its ports (job store, launcher): queue jobs and start them as the
fair scheduler allows, stop cancelled ones, turn shard exits into job states, and reconcile
(rebuilding the queue from the job store) after a restart."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.decisions import (
    ACTIVE,
    EXIT_OK,
    TERMINAL,
    Fail,
    Relaunch,
    on_shard_exit,
)
from simlab_runner.core.ports import Event, JobStore, Launcher, ShardExit, StudyQueued
from simlab_runner.core.scheduler import Admission, FairScheduler

log = logging.getLogger("runner")
# A queued job's latest reason starting with this was said by the runner: it says why the job
# waits, and is not said again after a restart.
WAITING = "waiting"


class Runner:
    def __init__(self, jobstore: JobStore, launcher: Launcher, scheduler: FairScheduler) -> None:
        self.jobstore = jobstore
        self.launcher = launcher
        self.scheduler = scheduler

    async def handle_event(self, event: Event) -> None:
        # The event may be old (redelivery): act on the jobs as they are now.
        if isinstance(event, StudyQueued):
            await self.enqueue(
                await self.jobstore.active_jobs([pb.JOB_STATE_QUEUED], study_id=event.study_id)
            )
            return
        if event.job.state in TERMINAL and self.scheduler.is_waiting(event.job_id):
            # Ended before it started (a cancelled study's queued points go straight to
            # CANCELLED, by the thousand): it leaves the line, no call needed.
            self.scheduler.release(event.job_id)
            return
        job = await self.jobstore.get_job(event.job_id)
        if job.state == pb.JOB_STATE_CANCELLING:
            await self.cancel(job)
        elif job.state == pb.JOB_STATE_QUEUED:
            await self.enqueue([job])
        elif job.state == pb.JOB_STATE_LAUNCHING:
            # Recorded, then the runner stopped before it launched: it holds its slots.
            admission = self.scheduler.hold(job.job_id, job.owner, job.shards)
            await self.launch(job, admission)

    async def enqueue(self, jobs: Iterable[pb.Job]) -> None:
        """Queues the jobs (each once: a job already known is left as it is), starts what may
        start, and tells each new job that waits why. Not a study's points: their study says
        how much of the queue is ahead of it, and a reason for each would cost one report and
        one event per point."""
        new = [
            job
            for job in jobs
            if self.scheduler.enqueue(
                job.job_id, job.owner, job.shards, job.study_id, job.study_point
            )
        ]
        if not new:
            return
        await self.dispatch()
        for job in new:
            if (
                not job.study_id
                and self.scheduler.is_waiting(job.job_id)
                and not _says_why_it_waits(job)
            ):
                reason = self.scheduler.why_waiting(job.job_id)
                await self.jobstore.report(job.job_id, pb.JOB_STATE_QUEUED, reason)

    async def dispatch(self) -> None:
        """Starts every waiting job the scheduler admits now. When a start cannot be recorded
        (the job store away), that job and those after it go back to the front of the line
        for the next dispatch. A job that ended while it waited (cancelled) gives its workers
        back at once, to the next in line."""
        while await self._start(self.scheduler.admit()):
            pass

    async def _start(self, admitted: list[Admission]) -> bool:
        """Starts the admitted jobs; True when one of them was not started after all (its
        workers are free again)."""
        freed = False
        for i, admission in enumerate(admitted):
            try:
                job = await self.jobstore.get_job(admission.job_id)
                if job.state == pb.JOB_STATE_QUEUED:
                    job = await self.jobstore.report(
                        job.job_id, pb.JOB_STATE_LAUNCHING, "launch recorded"
                    )
            except SimlabError as error:
                if error.code != Code.UNAVAILABLE:
                    log.warning("not starting a job: %s", error, extra={"job_id": admission.job_id})
                    self.scheduler.release(admission.job_id)
                    freed = True
                    continue
                for later in reversed(admitted[i:]):
                    self.scheduler.put_back(later)
                raise
            if job.state != pb.JOB_STATE_LAUNCHING:
                # Cancelled or ended while it waited.
                self.scheduler.release(job.job_id)
                freed = True
                continue
            await self.launch(job, admission)
        return freed

    async def launch(self, job: pb.Job, admission: Admission) -> None:
        try:
            await self.launcher.launch(job, admission.slots)
        except Exception as error:
            log.exception("launch failed", extra={"job_id": job.job_id})
            await self._fail(job.job_id, f"could not start the workers: {error}", "launcher")

    async def cancel(self, job: pb.Job) -> None:
        if self.scheduler.is_waiting(job.job_id):
            # Never launched: nothing to stop (a cancelled study's queued points come by the
            # thousand, and each stop is a call to Kubernetes).
            reason = "cancelled before it started"
        else:
            await self.launcher.stop(job.job_id)
            reason = "workers stopped"
        await self.jobstore.report(job.job_id, pb.JOB_STATE_CANCELLED, reason)
        await self._finish(job.job_id)

    async def on_job_failure(self, job_id: str, message: str, log_tail: str = "") -> None:
        """The launcher knows the run cannot succeed (image missing, Job failed, ...)."""
        job = await self.jobstore.get_job(job_id)
        if job.state in TERMINAL or job.state == pb.JOB_STATE_CANCELLING:
            return
        await self._fail(job_id, message, "launcher", log_tail)

    async def on_shard_exit(self, exit_: ShardExit) -> None:
        job = await self.jobstore.get_job(exit_.job_id)
        decision = on_shard_exit(
            job.state, exit_.shard, exit_.exit_code, exit_.reason, exit_.attempts
        )
        if isinstance(decision, Fail):
            await self._fail(job.job_id, decision.message, "runner", exit_.log_tail)
        elif isinstance(decision, Relaunch):
            log.warning(
                "relaunching a lost shard", extra={"job_id": job.job_id, "shard": decision.shard}
            )
            await self._launch_more(job)
        job = await self.jobstore.get_job(exit_.job_id)
        if job.state in TERMINAL:
            await self._finish(job.job_id)
        elif exit_.exit_code == EXIT_OK and job.state == pb.JOB_STATE_RUNNING:
            # A slot of the job is free: its next shard, if any, takes it.
            await self._launch_more(job)

    async def _launch_more(self, job: pb.Job) -> None:
        admission = self.scheduler.hold(job.job_id, job.owner, job.shards)
        await self.launcher.launch(job, admission.slots)

    async def reconcile(self) -> None:
        """At start-up: adopt the workers still running, relaunch shards lost while the runner
        was away (the work resumes from recorded blocks), finish cancellations, stop orphans,
        and queue the queued jobs again, oldest first."""
        live = await self.launcher.adopt()
        active = {job.job_id: job for job in await self.jobstore.active_jobs(ACTIVE)}
        for job in active.values():
            if job.state == pb.JOB_STATE_CANCELLING:
                await self.cancel(job)
            elif job.state in (pb.JOB_STATE_LAUNCHING, pb.JOB_STATE_RUNNING):
                admission = self.scheduler.hold(job.job_id, job.owner, job.shards)
                problem = await self.launcher.resume(job, admission.slots)
                if problem:
                    await self._fail(job.job_id, problem, "runner")
        for job_id in live.keys() - active.keys():
            log.info("stopping workers of a job that is no longer active", extra={"job_id": job_id})
            await self.launcher.stop(job_id)
            await self._finish(job_id)
        await self.enqueue(job for job in active.values() if job.state == pb.JOB_STATE_QUEUED)

    async def release_ended(self) -> None:
        """Frees the slots of running jobs that ended without a shard exit telling the runner
        (a launcher that reports no exits, like Kubernetes'), then starts what may start."""
        for job_id in self.scheduler.running_jobs():
            job = await self.jobstore.get_job(job_id)
            if job.state in TERMINAL:
                await self._finish(job_id)
        await self.dispatch()

    async def _fail(self, job_id: str, message: str, source: str, log_tail: str = "") -> None:
        error = pb.JobError(message=message, source=source, log_tail=log_tail)
        try:
            await self.jobstore.report(job_id, pb.JOB_STATE_FAILED, message, error)
        except SimlabError as error_:
            if error_.code != Code.FAILED_PRECONDITION:
                raise
        await self.launcher.stop(job_id)

    async def _finish(self, job_id: str) -> None:
        """The job has ended: forgotten, and its workers given to waiting jobs once its last
        process is gone (the exit of each calls this again)."""
        await self.launcher.forget(job_id)
        if self.launcher.live_shards(job_id) == 0:
            self.scheduler.release(job_id)
            await self.dispatch()


def _says_why_it_waits(job: pb.Job) -> bool:
    return bool(job.history) and job.history[-1].reason.startswith(WAITING)
