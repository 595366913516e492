"""The outbox: an event committed with its change reaches JetStream even when the job store is
killed between commit and publish, or NATS is down at commit time, and exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import psycopg
import pytest

from services.jobstore.tests.conftest import Client, EventReader, JobStoreProcess
from simlab.devstack.servers import Nats, start_nats
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.adapters.relay import PUBLISH_TIMEOUT_S, RELAY_LOCK

pytestmark = pytest.mark.integration


def outbox_size(pg_uri: str) -> int:
    with psycopg.connect(pg_uri) as conn:
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert row is not None
    return int(row[0])


def wait_for_empty_outbox(pg_uri: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while outbox_size(pg_uri):
        assert time.monotonic() < deadline, "the relay did not empty the outbox"
        time.sleep(0.05)


def test_kill_between_commit_and_publish_then_restart_delivers_once(
    pg_uri: str,
    jobstore_env: Callable[..., dict[str, str]],
    start_process: Callable[..., JobStoreProcess],
    stream: EventReader,
) -> None:
    doomed = start_process(jobstore_env(FAULT="kill-after-commit"))
    with pytest.raises(grpc.RpcError):
        doomed.client.create()
    assert doomed.wait() == -9
    with psycopg.connect(pg_uri) as conn:
        (job_id,), *_ = conn.execute("SELECT job_id FROM jobs").fetchall()
        (event_id,), *_ = conn.execute("SELECT event_id FROM outbox").fetchall()
    assert stream.of(job_id, timeout=0.5) == []

    restarted = start_process(jobstore_env())
    (delivered,) = stream.of(job_id)
    assert delivered.msg_id == event_id == delivered.event.event_id
    assert (delivered.event.seq, delivered.event.job.state) == (1, pb.JOB_STATE_QUEUED)
    wait_for_empty_outbox(pg_uri)

    # A crash after publishing but before deleting: the row is published again and
    # JetStream drops it as a duplicate of the same Nats-Msg-Id.
    with psycopg.connect(pg_uri) as conn:
        conn.execute(
            "INSERT INTO outbox (event_id, subject, payload) VALUES (%s, %s, %s)",
            (event_id, delivered.subject, delivered.event.SerializeToString()),
        )
    restarted.client.create()  # wakes the relay
    wait_for_empty_outbox(pg_uri)
    assert stream.of(job_id) == [delivered]

    assert restarted.terminate() == 0
    assert [line["msg"] for line in restarted.lines][-2:] == [
        "jobstore stopping",
        "jobstore stopped",
    ]


def test_events_committed_while_nats_is_down_arrive_once_it_is_back(
    client: Client, pg_uri: str, nats_server: Nats, stream: EventReader, tmp_path: Path
) -> None:
    job_id = client.create().job_id
    stream.of(job_id)
    nats_server.stop()

    client.report_state(job_id, pb.JOB_STATE_LAUNCHING)
    client.report_state(job_id, pb.JOB_STATE_FAILED, reason="no nodes")
    # The relay has tried and timed out: the rows stay until JetStream acknowledges them.
    time.sleep(PUBLISH_TIMEOUT_S + 0.5)
    assert outbox_size(pg_uri) == 2
    port = int(nats_server.url.rsplit(":", 1)[1])
    back = start_nats(tmp_path / "nats", port=port)
    try:
        events = stream.of(job_id, at_least=3, timeout=20)
        assert [e.event.seq for e in events] == [1, 2, 3]
        assert events[-1].event.job.state == pb.JOB_STATE_FAILED
    finally:
        back.stop()


def test_only_the_relay_holding_the_lock_publishes(
    client: Client, pg_uri: str, stream: EventReader
) -> None:
    stream.of(client.create().job_id)  # our relay runs, holding the lock
    with psycopg.connect(pg_uri, autocommit=True) as other_replica:
        # Our relay's connection drops and another replica's relay takes the lock first.
        other_replica.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks"
            " WHERE locktype = 'advisory' AND objid = %s",
            (RELAY_LOCK,),
        )
        other_replica.execute("SELECT pg_advisory_lock(%s)", (RELAY_LOCK,))
        waiting = client.create().job_id
        assert stream.of(waiting, timeout=1.5) == []
    # The other replica is gone: ours takes the lock at its next try and catches up.
    assert [e.event.seq for e in stream.of(waiting, timeout=5)] == [1]
