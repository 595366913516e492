"""NATS on the embedded stack: only the services' users connect, and an event forged by any
of them but the job store never reaches a WatchJob stream."""

from __future__ import annotations

import asyncio

import nats
import pytest

from simlab.client import Client
from simlab.common import events
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb

FORGED_SEQ = 10**9


def test_nats_refuses_a_connection_without_credentials(stack: Stack) -> None:
    assert stack.nats is not None
    url = stack.nats.url

    async def connect() -> None:
        await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0)

    with pytest.raises(Exception, match="Authorization Violation"):
        asyncio.run(connect())


def test_a_forged_event_never_reaches_watch_job(stack: Stack, alice: Client) -> None:
    job = alice.submit("test_slow", {"samples": 2000, "seconds_per_block": 0.2}, seed=3)
    seen: list[pb.JobEvent] = []
    forged = False
    for event in alice.watch(job.job_id):
        seen.append(event)
        if event.kind == pb.EVENT_KIND_PROGRESS and not forged:
            # The watch is subscribed: forge its job's end, as every user but the job store.
            asyncio.run(_forge(stack, job.job_id))
            forged = True
    assert forged
    assert seen[-1].job.state == pb.JOB_STATE_SUCCEEDED
    assert seen[-1].job.progress.samples_done == 2000
    assert all(event.seq < FORGED_SEQ for event in seen)
    assert alice.get(job.job_id).state == pb.JOB_STATE_SUCCEEDED


async def _forge(stack: Stack, job_id: str) -> None:
    forged = pb.JobEvent(
        job_id=job_id,
        seq=FORGED_SEQ,
        kind=pb.EVENT_KIND_STATE,
        job=pb.Job(job_id=job_id, state=pb.JOB_STATE_FAILED),
    )
    for user in ("runner", "gateway"):
        client = await nats.connect(stack.nats_url_for(user), inbox_prefix=f"_INBOX_{user}")
        subject = events.subject(job_id, "failed")
        await client.publish(subject, forged.SerializeToString())
        with pytest.raises(TimeoutError):
            await client.jetstream().publish(subject, forged.SerializeToString(), timeout=1)
        await client.close()
