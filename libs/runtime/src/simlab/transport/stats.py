"""Block statistics <-> simlab.v1.BlockStats. Every float travels as a double, so a round trip
is exact and merging after transport gives the same bits as merging in memory."""

from __future__ import annotations

from simlab.core.stats import Histogram, Minimum, Moments, Stats
from simlab.v1 import stats_pb2


def to_proto(block: int, stats: Stats) -> stats_pb2.BlockStats:
    message = stats_pb2.BlockStats(block=block, samples=stats.samples)
    for name, moments in stats.moments.items():
        message.moments[name].CopyFrom(
            stats_pb2.Moments(count=moments.count, mean=moments.mean, m2=moments.m2)
        )
    for name, minimum in stats.minima.items():
        message.minima[name].CopyFrom(stats_pb2.Minimum(value=minimum.value, argmin=minimum.argmin))
    message.counts.update(stats.counts)
    for name, histogram in stats.histograms.items():
        message.histograms[name].CopyFrom(
            stats_pb2.Histogram(
                lo=histogram.lo,
                hi=histogram.hi,
                counts=histogram.counts,
                below=histogram.below,
                above=histogram.above,
            )
        )
    return message


def from_proto(message: stats_pb2.BlockStats) -> tuple[int, Stats]:
    stats = Stats(
        samples=message.samples,
        moments={
            name: Moments(m.count, m.mean, m.m2) for name, m in sorted(message.moments.items())
        },
        minima={
            name: Minimum(m.value, tuple(m.argmin)) for name, m in sorted(message.minima.items())
        },
        counts=dict(sorted(message.counts.items())),
        histograms={
            name: Histogram(h.lo, h.hi, tuple(h.counts), h.below, h.above)
            for name, h in sorted(message.histograms.items())
        },
    )
    return message.block, stats
