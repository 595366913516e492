"""Precision targets and stops <-> simlab.v1.Precision and simlab.v1.StopInfo, and what a
job's stop means for its shards."""

from __future__ import annotations

from simlab.core.precision import Precision, Stop, StopReason
from simlab.v1 import simulation_pb2 as pb

_REASONS = {
    StopReason.PRECISION_REACHED: pb.STOP_REASON_PRECISION_REACHED,
    StopReason.BUDGET_EXHAUSTED: pb.STOP_REASON_BUDGET_EXHAUSTED,
}
_FROM_WIRE = {number: reason for reason, number in _REASONS.items()}


def precision_from_proto(message: pb.Precision) -> Precision:
    """The target, its defaults filled in; INVALID_ARGUMENT naming precision.<field>."""
    return Precision.of(
        rel_tol=message.rel_tol,
        abs_tol=message.abs_tol,
        confidence=message.confidence,
        min_blocks=message.min_blocks,
        two_stage=message.two_stage,
    )


def precision_to_proto(precision: Precision) -> pb.Precision:
    return pb.Precision(
        rel_tol=precision.rel_tol,
        abs_tol=precision.abs_tol,
        confidence=precision.confidence,
        min_blocks=precision.min_blocks,
        two_stage=precision.two_stage,
    )


def stop_reason_to_proto(reason: StopReason) -> pb.StopReason:
    return _REASONS[reason]


def stop_from_proto(message: pb.StopInfo) -> Stop:
    if message.reason not in _FROM_WIRE:
        raise ValueError(f"a stop without a known reason: {message.reason}")
    return Stop(_FROM_WIRE[message.reason], message.first_block, message.end_block)


def shards_with_blocks(job: pb.Job) -> int:
    """How many of the job's shards have blocks to run: all of them, until the job store
    decides where a run with a precision target stops. Shard s runs blocks s, s + shards, ...,
    so a shard s at or past the stop's end_block has none (the job store counts it done, the
    runner does not launch it, and it leaves no log)."""
    if job.HasField("stop"):
        return min(job.shards, job.stop.end_block)
    return job.shards
