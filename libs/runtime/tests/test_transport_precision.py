"""Precision targets and stops on the wire, and the shards a stop leaves with work."""

import pytest

from simlab.common.errors import SimlabError
from simlab.core.precision import Precision, Stop, StopReason
from simlab.transport.precision import (
    precision_from_proto,
    precision_to_proto,
    shards_with_blocks,
    stop_from_proto,
)
from simlab.v1 import simulation_pb2 as pb


def test_a_target_comes_off_the_wire_with_its_defaults_and_goes_back_whole() -> None:
    precision = precision_from_proto(pb.Precision(abs_tol=0.01, two_stage=True))
    assert precision == Precision(abs_tol=0.01, confidence=0.95, min_blocks=10, two_stage=True)
    assert precision_from_proto(precision_to_proto(precision)) == precision
    with pytest.raises(SimlabError, match=r"precision\.confidence"):
        precision_from_proto(pb.Precision(rel_tol=0.1, confidence=1.0))


def test_a_stop_comes_off_the_wire() -> None:
    wire = pb.StopInfo(reason=pb.STOP_REASON_BUDGET_EXHAUSTED, first_block=10, end_block=40)
    assert stop_from_proto(wire) == Stop(StopReason.BUDGET_EXHAUSTED, 10, 40)
    with pytest.raises(ValueError, match="reason"):
        stop_from_proto(pb.StopInfo(end_block=3))


def test_once_a_stop_is_decided_only_the_shards_with_blocks_before_it_have_work() -> None:
    job = pb.Job(job_id="j1", shards=8)
    assert shards_with_blocks(job) == 8
    job.stop.CopyFrom(pb.StopInfo(reason=pb.STOP_REASON_PRECISION_REACHED, end_block=3))
    assert shards_with_blocks(job) == 3
    job.stop.end_block = 40
    assert shards_with_blocks(job) == 8
