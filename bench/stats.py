"""Small helpers to print benchmark figures the same way everywhere."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name}: n={len(ms)} p50={statistics.median(ms):.2f} ms "
        f"p90={percentile(ms, 90):.2f} ms p99={percentile(ms, 99):.2f} ms max={max(ms):.2f} ms"
    )
