"""Where workers' live output travels on NATS JetStream: stream SIMLAB_LOGS, subjects
simlab.logs.<job_id>.<shard>. The runner (which owns the worker processes or pods) publishes
each new piece of a shard's output as raw bytes, and a message with the END header once that
shard's process is gone; the gateway's TailLogs replays and follows them. The job store
creates the stream (the one service whose NATS user manages streams). The stream is
bounded by age and size: it is for watching runs, while the complete logs are kept in the
object store (jobs/<id>/logs/shard-<i>.log) when each shard ends."""

from __future__ import annotations

STREAM = "SIMLAB_LOGS"
SUBJECT_PREFIX = "simlab.logs"
# Set on the message that says a shard's process has ended (its data is empty).
END_HEADER = "Simlab-Log-End"
# Well under NATS's default 1 MiB max_payload.
MAX_CHUNK = 64 * 1024
MAX_AGE_S = 3 * 24 * 3600.0
MAX_BYTES = 1024**3


def subject(job_id: str, shard: int) -> str:
    return f"{SUBJECT_PREFIX}.{job_id}.{shard}"


def job_subjects(job_id: str, shard: int | None = None) -> str:
    return subject(job_id, shard) if shard is not None else f"{SUBJECT_PREFIX}.{job_id}.*"


def shard_of(subject_: str) -> int:
    return int(subject_.rsplit(".", 1)[1])


async def ensure_stream(js: object) -> None:
    """Creates the stream, or updates it to this configuration (idempotent)."""
    from nats.js.api import DiscardPolicy, StorageType, StreamConfig

    from simlab.common.events import apply_stream

    await apply_stream(
        js,
        StreamConfig(
            name=STREAM,
            subjects=[f"{SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=MAX_AGE_S,
            max_bytes=MAX_BYTES,
        ),
    )
