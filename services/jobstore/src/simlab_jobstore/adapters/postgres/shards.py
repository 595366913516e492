"""What workers report: a shard's start, its blocks, its end, and the job's result."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from simlab.common.errors import Code, SimlabError
from simlab.core.stats import Moments

from ...core import jobs as core
from ...core import targets
from ...core.events import EventKind
from ...core.jobs import BlockReport, Job, JobError, ScriptProgress
from ...core.states import STOPPING, JobState
from .rows import block_moments
from .session import Database, Session, now

# Recorded blocks read at a time while the prefix advances over them.
PREFIX_BATCH = 1000


class Shards:
    db: Database

    async def admit_worker(self, job_id: str, shard: int, attempt: int) -> Job:
        # Reads alone on every call but a launch's first: a shard's attempt rarely changes.
        async with self.db.session() as db:
            job = await db.find_job(job_id)
            core.check_shard(job, shard)
            row = await db.fetch_one(
                "SELECT attempt FROM job_shards WHERE job_id = %s AND shard = %s",
                (job_id, shard),
            )
            highest = 0 if row is None else int(row["attempt"])
            if attempt > highest:
                # greatest(): a concurrent admission of a later attempt keeps its number.
                highest = await db.count(
                    "INSERT INTO job_shards (job_id, shard, attempt) VALUES (%s, %s, %s)"
                    " ON CONFLICT (job_id, shard)"
                    " DO UPDATE SET attempt = greatest(job_shards.attempt, EXCLUDED.attempt)"
                    " RETURNING attempt",
                    (job_id, shard, attempt),
                )
        core.check_attempt(job, shard, attempt, highest)
        return job

    async def start_shard(
        self, job_id: str, shard: int, runtime: str = ""
    ) -> tuple[Job, list[int], bool]:
        """(job, the shard's recorded blocks, stop); the first non-empty runtime is recorded
        (with the RUNNING it brings, or alone: no event of its own)."""
        async with self.db.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_shard(job, shard)
            if job.state in STOPPING:
                return job, [], True
            recorded = core.with_runtime(job, runtime)
            running = core.transition(recorded, JobState.RUNNING, now(), f"shard {shard} started")
            if running is not None:
                job = running
                await tx.save(job, EventKind.STATE)
            elif recorded is not job:
                job = recorded
                await tx.conn.execute(
                    "UPDATE jobs SET runtime = %s WHERE job_id = %s", (job.runtime, job_id)
                )
            await tx.conn.execute(
                "INSERT INTO job_shards (job_id, shard) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (job_id, shard),
            )
            rows = await tx.fetch_all(
                "SELECT block FROM block_stats WHERE job_id = %s AND shard = %s ORDER BY block",
                (job_id, shard),
            )
        return job, [row["block"] for row in rows], False

    async def report_blocks(
        self, job_id: str, shard: int, blocks: Sequence[BlockReport]
    ) -> tuple[bool, int]:
        """Records the blocks not recorded yet, with their primary output's moments, and
        advances the prefix over them, deciding the stop when it is met (in this transaction,
        under the job's lock: decided once). The answer: whether the shard should stop, and
        the block from which none is needed (0: all are)."""
        async with self.db.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_blocks(job, shard, blocks)
            if not core.accepts_blocks(job):
                return True, targets.stop_block(job)
            unique = list({report.block: report for report in blocks}.values())
            primary = [report.moments.get(job.primary_output, Moments()) for report in unique]
            cursor = await tx.conn.execute(
                "INSERT INTO block_stats (job_id, block, shard, stats, count, mean, m2)"
                " SELECT %s, block, %s, stats, count, mean, m2 FROM unnest(%s::bigint[],"
                " %s::bytea[], %s::bigint[], %s::float8[], %s::float8[])"
                " AS new (block, stats, count, mean, m2) ON CONFLICT DO NOTHING RETURNING block",
                (
                    job_id,
                    shard,
                    [r.block for r in unique],
                    [r.stats for r in unique],
                    [m.count for m in primary],
                    [m.mean for m in primary],
                    [m.m2 for m in primary],
                ),
            )
            inserted = {block for (block,) in await cursor.fetchall()}
            if inserted:
                job = core.record_blocks(job, [r for r in unique if r.block in inserted], now())
                if job.prefix.blocks in inserted:
                    job = await advance_prefix(tx, job)
                await tx.save_progress(job)
        return job.state in STOPPING, targets.stop_block(job)

    async def report_progress(self, job_id: str, shard: int, progress: ScriptProgress) -> bool:
        """Records a script's progress; the answer is whether it should stop."""
        async with self.db.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_shard(job, shard)
            if not core.accepts_blocks(job):
                return True
            changed = core.record_progress(job, shard, progress, now())
            if changed is not None:
                job = changed
                await tx.save_progress(job)
        return job.state in STOPPING

    async def finish_shard(self, job_id: str, shard: int) -> tuple[bool, list[bytes], Job]:
        """(finalize, the statistics of the blocks the result merges, in block order, when
        finalize: every block, or [stop.first_block, stop.end_block) with a precision; job).
        A shard is done once it recorded every block of its that is needed."""
        async with self.db.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_shard(job, shard)
            if not core.accepts_blocks(job):
                return False, [], job
            # Blocks past a decided stop are not needed; shards holding none count as done.
            end = job.end_block
            have = await tx.count(
                "SELECT count(*) FROM block_stats WHERE job_id = %s AND shard = %s AND block < %s",
                (job_id, shard, end),
            )
            expected = len(job.needed_blocks(shard))
            if have < expected:
                raise SimlabError(
                    Code.FAILED_PRECONDITION,
                    f"shard {shard} of job {job_id} has reported {have} of its {expected} blocks",
                )
            await tx.conn.execute(
                "INSERT INTO job_shards (job_id, shard, done) VALUES (%s, %s, true)"
                " ON CONFLICT (job_id, shard) DO UPDATE SET done = true",
                (job_id, shard),
            )
            done = await tx.count(
                "SELECT count(*) FROM job_shards WHERE job_id = %s AND done AND shard < %s",
                (job_id, job.needed_shards),
            )
            all_done = done == job.needed_shards and job.blocks_complete
            if not core.claims_finalization(job, shard, all_done):
                return False, [], job
            if job.finalizer_shard is None:
                job = dataclasses.replace(job, finalizer_shard=shard)
                await tx.conn.execute(
                    "UPDATE jobs SET finalizer_shard = %s WHERE job_id = %s", (shard, job_id)
                )
            first = 0 if job.stop is None else job.stop.first_block
            cursor = await tx.conn.execute(
                "SELECT stats FROM block_stats WHERE job_id = %s AND block >= %s AND block < %s"
                " ORDER BY block",
                (job_id, first, end),
            )
            stats = [stats for (stats,) in await cursor.fetchall()]
        return True, stats, job

    async def complete_job(self, job_id: str, summary: dict[str, Any]) -> Job:
        return await self.db.change(
            job_id,
            "",
            lambda job: core.succeed(job, summary, now()),
        )

    async def fail_job(self, job_id: str, shard: int, error: JobError) -> Job:
        reason = f"shard {shard} failed: {error.message}"
        return await self.db.change(
            job_id,
            "",
            lambda job: core.transition(job, JobState.FAILED, now(), reason, error=error),
        )


async def advance_prefix(tx: Session, job: Job) -> Job:
    """The job with its prefix advanced over the contiguous recorded blocks after it (read in
    block order, a batch at a time, up to the first gap or the stop)."""
    while targets.prefix_wants(job):
        rows = await tx.fetch_all(
            "SELECT block, count, mean, m2 FROM block_stats WHERE job_id = %s AND block >= %s"
            " ORDER BY block LIMIT %s",
            (job.job_id, job.prefix.blocks, PREFIX_BATCH),
        )
        before = job.prefix.blocks
        job = targets.grow_prefix(job, [(row["block"], block_moments(row)) for row in rows])
        # A gap, or fewer rows than asked: every recorded block after the prefix was seen.
        if len(rows) < PREFIX_BATCH or job.prefix.blocks - before < len(rows):
            break
    return job
