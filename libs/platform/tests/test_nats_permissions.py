"""The NATS users of deploy/helm/simlab/files/nats-auth.conf against a real nats-server:
nobody connects without credentials, only the job store publishes job events or manages
streams, and no user reads another's replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.client import JetStreamContext

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events, logstream
from simlab.devstack.servers import Nats

# How long to wait for what must not come, and at most for what must.
WAIT_S = 1.0
ARRIVES_S = 10.0


def run(server: Nats, test: Callable[..., Awaitable[None]]) -> None:
    """Runs `test(jobstore, runner, gateway)`, each a JetStream context connected as that
    user, the streams created by the job store as the services do."""

    async def main() -> None:
        clients = [await connect_nats(server.url_for(user), user) for user in users]
        try:
            jobstore = clients[0].jetstream()
            await events.ensure_stream(jobstore)
            await logstream.ensure_stream(jobstore)
            await test(*(client.jetstream() for client in clients))
        finally:
            for client in clients:
                await close_nats(client, drain=False)

    users = ("jobstore", "runner", "gateway")
    asyncio.run(main())


def violations(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "permissions violation" in r.getMessage()]


async def stored(js: JetStreamContext, stream: str = events.STREAM) -> int:
    return (await js.stream_info(stream)).state.messages


def test_a_connection_without_credentials_or_with_a_wrong_password_is_refused(
    secured_nats: Nats,
) -> None:
    async def connect(url: str) -> Client:
        return await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0)

    async def main() -> None:
        for url in (secured_nats.url, secured_nats.url_for("gateway").replace(":n", ":x", 1)):
            with pytest.raises(Exception, match="Authorization Violation"):
                await connect(url)

    asyncio.run(main())


@pytest.mark.parametrize("user", ["runner", "gateway"])
def test_only_the_job_store_publishes_job_events(
    secured_nats: Nats, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(jobstore: JetStreamContext, *others: JetStreamContext) -> None:
        forger = dict(zip(("runner", "gateway"), others, strict=True))[user]
        watcher = await others[1]._nc.subscribe(events.job_subjects("j1"))
        await others[1]._nc.flush()  # the subscription is in place before the publish
        await jobstore.publish(events.subject("j1", "running"), b"real")
        assert (await watcher.next_msg(ARRIVES_S)).data == b"real"
        with pytest.raises(TimeoutError):
            await forger.publish(events.subject("j1", "succeeded"), b"forged", timeout=WAIT_S)
        await forger._nc.publish(events.subject("j1", "succeeded"), b"forged")  # core NATS
        with pytest.raises(TimeoutError):
            await watcher.next_msg(WAIT_S)
        assert await stored(jobstore) == 1

    with caplog.at_level(logging.WARNING, "nats"):
        run(secured_nats, test)
    assert len(violations(caplog)) == 2


@pytest.mark.parametrize("user", ["runner", "gateway"])
def test_only_the_job_store_manages_streams(
    secured_nats: Nats, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(jobstore: JetStreamContext, *others: JetStreamContext) -> None:
        js = dict(zip(("runner", "gateway"), others, strict=True))[user]
        await jobstore.publish(events.subject("j1", "queued"), b"event")
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: js.delete_stream(events.STREAM),
            lambda: js.purge_stream(events.STREAM),
            lambda: js.delete_msg(events.STREAM, 1),
            lambda: js.update_stream(StreamConfig(name=events.STREAM, subjects=["other.>"])),
            lambda: js.add_stream(StreamConfig(name="OTHER", subjects=["other.>"])),
        ]
        for attempt in attempts:
            with pytest.raises(TimeoutError):  # refused: the request never reaches JetStream
                await asyncio.wait_for(attempt(), WAIT_S)
        assert await stored(jobstore) == 1
        assert await stored(jobstore, logstream.STREAM) == 0

    with caplog.at_level(logging.WARNING, "nats"):
        run(secured_nats, test)
    assert len(violations(caplog)) == 5


def test_the_gateway_tails_logs_but_cannot_redirect_them_into_job_events(
    secured_nats: Nats,
) -> None:
    async def test(
        jobstore: JetStreamContext, runner: JetStreamContext, gateway: JetStreamContext
    ) -> None:
        await runner.publish(logstream.subject("j1", 0), b"output", stream=logstream.STREAM)
        tail = await gateway.subscribe(
            logstream.job_subjects("j1"),
            stream=logstream.STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        assert (await tail.next_msg(ARRIVES_S)).data == b"output"
        # A consumer whose deliveries would land on a job's event subjects.
        watcher = await gateway._nc.subscribe(events.job_subjects("j1"))
        await gateway._nc.flush()
        await gateway._jsm.add_consumer(
            logstream.STREAM,
            ConsumerConfig(deliver_subject=events.subject("j1", "succeeded")),
        )
        with pytest.raises(TimeoutError):
            await watcher.next_msg(WAIT_S)
        assert await stored(jobstore) == 0

    run(secured_nats, test)


def test_no_user_reads_another_users_replies(
    secured_nats: Nats, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(
        jobstore: JetStreamContext, runner: JetStreamContext, gateway: JetStreamContext
    ) -> None:
        await gateway._nc.subscribe("_INBOX_runner.>")
        await gateway._nc.subscribe("_INBOX.>")
        await runner._nc.subscribe("simlab.jobs.>")
        await asyncio.sleep(WAIT_S)

    with caplog.at_level(logging.WARNING, "nats"):
        run(secured_nats, test)
    assert len([v for v in violations(caplog) if "subscription" in v]) == 3
