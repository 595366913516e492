"""The runner's logic, over its ports (job store, launcher): launch queued jobs,
stop cancelled ones, turn shard exits into job states, and reconcile after a restart."""

from __future__ import annotations

import logging

from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.decisions import ACTIVE, TERMINAL, Fail, Relaunch, on_shard_exit
from simlab_runner.core.ports import JobStore, Launcher, ShardExit

log = logging.getLogger("runner")


class Runner:
    def __init__(self, jobstore: JobStore, launcher: Launcher) -> None:
        self.jobstore = jobstore
        self.launcher = launcher

    async def handle_event(self, event: pb.JobEvent) -> None:
        # The event may be old (redelivery): act on the job as it is now.
        job = await self.jobstore.get_job(event.job_id)
        if job.state == pb.JOB_STATE_CANCELLING:
            await self.cancel(job)
        elif job.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_LAUNCHING):
            await self.launch(job)

    async def launch(self, job: pb.Job) -> None:
        if job.state == pb.JOB_STATE_QUEUED:
            job = await self.jobstore.report(job.job_id, pb.JOB_STATE_LAUNCHING, "launch recorded")
            if job.state != pb.JOB_STATE_LAUNCHING:
                return
        try:
            await self.launcher.launch(job)
        except Exception as error:
            log.exception("launch failed", extra={"job_id": job.job_id})
            await self._fail(job.job_id, f"could not start the workers: {error}", "launcher")

    async def cancel(self, job: pb.Job) -> None:
        await self.launcher.stop(job.job_id)
        await self.jobstore.report(job.job_id, pb.JOB_STATE_CANCELLED, "workers stopped")
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
            await self.launcher.launch(job)
        job = await self.jobstore.get_job(exit_.job_id)
        if job.state in TERMINAL:
            await self._finish(job.job_id)

    async def reconcile(self) -> None:
        """At start-up: adopt the workers still running, relaunch shards lost while the runner
        was away (the work resumes from recorded blocks), finish cancellations, stop orphans."""
        live = await self.launcher.adopt()
        active = {job.job_id: job for job in await self.jobstore.active_jobs(ACTIVE)}
        for job in active.values():
            if job.state == pb.JOB_STATE_CANCELLING:
                await self.cancel(job)
            elif job.state in (pb.JOB_STATE_LAUNCHING, pb.JOB_STATE_RUNNING):
                problem = await self.launcher.resume(job)
                if problem:
                    await self._fail(job.job_id, problem, "runner")
            # QUEUED jobs have an unacknowledged event: the consumer launches them.
        for job_id in live.keys() - active.keys():
            log.info("stopping workers of a job that is no longer active", extra={"job_id": job_id})
            await self.launcher.stop(job_id)
            await self._finish(job_id)

    async def _fail(self, job_id: str, message: str, source: str, log_tail: str = "") -> None:
        error = pb.JobError(message=message, source=source, log_tail=log_tail)
        try:
            await self.jobstore.report(job_id, pb.JOB_STATE_FAILED, message, error)
        except SimlabError as error_:
            if error_.code != Code.FAILED_PRECONDITION:
                raise
        await self.launcher.stop(job_id)

    async def _finish(self, job_id: str) -> None:
        await self.launcher.forget(job_id)
