"""When a followed log is complete. The runner sends each shard's output and then an end
marker once the shard's process is gone, which may be a little after the job's final state
(the last lines are read after the process exits; other shards are being stopped). So a
follow ends once the job has ended, everything published so far was delivered, and every
shard that wrote has ended too, or END_GRACE_S after the job ended, whichever comes first."""

from __future__ import annotations

from dataclasses import dataclass, field

# Longer than the runner's grace for stopping a job's other shards (10 s by default).
END_GRACE_S = 15.0


@dataclass
class LogFollow:
    open_shards: set[int] = field(default_factory=set)
    job_ended_at: float | None = None

    def output(self, shard: int) -> None:
        self.open_shards.add(shard)

    def shard_ended(self, shard: int) -> None:
        self.open_shards.discard(shard)

    def job_ended(self, now: float) -> None:
        if self.job_ended_at is None:
            self.job_ended_at = now

    def complete(self, now: float, caught_up: bool) -> bool:
        if self.job_ended_at is None:
            return False
        if now - self.job_ended_at >= END_GRACE_S:
            return True
        return caught_up and not self.open_shards


@dataclass(frozen=True)
class LogPiece:
    """Some of one shard's output."""

    shard: int
    data: bytes
