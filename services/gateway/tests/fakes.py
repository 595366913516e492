"""In-memory stand-ins for the gateway's ports (core.ports), for testing its use cases alone.
`calls`, shared by the fakes of one test, records the order in which the ports were used."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from simlab.common.errors import not_found
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.submission import JobPlan

TOY = Model(
    name="toy",
    title="Toy",
    description="",
    parameters=(
        Param("samples", "Samples", "int", 1000, minimum=1, sample_count=True),
        Param("scale", "Scale", "float", None, minimum=0, exclusive_minimum=True),
    ),
    outputs=(Output("mean", "Mean"),),
    primary_output="mean",
    block_size=lambda params: 100,
    simulate=lambda params, rng, n: Stats(n, {"mean": Moments.of(rng.random(n))}),
    summarize=lambda params, stats: {},
)
CATALOGUE = {"toy": TOY}


@dataclass
class FakeJobStore:
    calls: list[str] = field(default_factory=list)
    # (owner, job_id) -> job: another owner's job is not found, as in the job store.
    jobs: dict[tuple[str, str], pb.Job] = field(default_factory=dict)
    plans: list[tuple[str, JobPlan]] = field(default_factory=list)
    presets: list[tuple[str, pb.Preset]] = field(default_factory=list)

    def add(self, owner: str, job: pb.Job) -> pb.Job:
        self.jobs[owner, job.job_id] = job
        return job

    async def create_job(self, owner: str, request_id: str, plan: JobPlan) -> tuple[pb.Job, bool]:
        self.calls.append("create_job")
        self.plans.append((owner, plan))
        job = pb.Job(job_id=f"job{len(self.plans)}", model=plan.model, shards=plan.shards)
        return self.add(owner, job), True

    async def get_job(self, owner: str, job_id: str) -> pb.Job:
        self.calls.append("get_job")
        if (owner, job_id) not in self.jobs:
            raise not_found(f"job {job_id}")
        return self.jobs[owner, job_id]

    async def list_jobs(self, owner: str, query: pb.ListJobsRequest) -> pb.ListJobsResponse:
        return pb.ListJobsResponse(jobs=[j for (o, _), j in self.jobs.items() if o == owner])

    async def cancel_job(self, owner: str, job_id: str) -> pb.Job:
        return await self.get_job(owner, job_id)

    async def progress_history(self, owner: str, job_id: str) -> pb.ProgressHistory:
        await self.get_job(owner, job_id)
        return pb.ProgressHistory()

    async def list_presets(self, owner: str, model: str) -> pb.ListPresetsResponse:
        return pb.ListPresetsResponse(presets=[p for o, p in self.presets if o == owner])

    async def save_preset(self, owner: str, preset: pb.Preset) -> pb.Preset:
        self.presets.append((owner, preset))
        return preset

    async def delete_preset(self, owner: str, name: str) -> pb.DeletePresetResponse:
        return pb.DeletePresetResponse()

    async def create_share_link(
        self, owner: str, job_id: str, ttl_seconds: int
    ) -> pb.CreateShareLinkResponse:
        await self.get_job(owner, job_id)
        return pb.CreateShareLinkResponse()

    async def list_share_links(self, owner: str, job_id: str) -> pb.ListShareLinksResponse:
        return pb.ListShareLinksResponse()

    async def revoke_share_link(self, owner: str, link_id: str) -> pb.ShareLink:
        return pb.ShareLink()


@dataclass
class FakeEvents:
    """Delivers `published` to a subscriber, as if those events came after it subscribed."""

    calls: list[str]
    published: list[pb.JobEvent] = field(default_factory=list)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[pb.JobEvent]]:
        self.calls.append("subscribe")
        queue: asyncio.Queue[pb.JobEvent] = asyncio.Queue()
        for event in self.published:
            if event.job_id == job_id:
                queue.put_nowait(event)

        async def live() -> AsyncIterator[pb.JobEvent]:
            while True:
                yield await queue.get()

        yield live()


@dataclass
class FakeLogs:
    pieces: list[LogPiece] = field(default_factory=list)
    tails: list[tuple[str, int | None, bool]] = field(default_factory=list)

    async def tail(
        self, job_id: str, shard: int | None, follow: bool, job_ended: Callable[[], bool]
    ) -> AsyncIterator[LogPiece]:
        self.tails.append((job_id, shard, follow))
        for piece in self.pieces:
            if shard is None or piece.shard == shard:
                yield piece


@dataclass(frozen=True)
class Info:
    key: str
    size: int


@dataclass
class FakeObjects:
    objects: dict[str, bytes] = field(default_factory=dict)
    # Whether the store gives presigned URLs (S3) or not (a local directory).
    presigns: bool = False
    # Stores stream in pieces of their own size, whatever size was asked for.
    chunk: int = 4
    opened: list[io.BytesIO] = field(default_factory=list)

    def list(self, prefix: str) -> list[Info]:
        return [
            Info(key, len(data))
            for key, data in sorted(self.objects.items())
            if key == prefix or key.startswith(prefix.rstrip("/") + "/")
        ]

    def open(self, key: str) -> io.BytesIO:
        handle = io.BytesIO(self.objects[key])
        self.opened.append(handle)
        return handle

    def iter_chunks(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        data = self.objects[key]
        return iter([data[i : i + self.chunk] for i in range(0, len(data), self.chunk)])

    def presigned_url(self, key: str, expires_s: int | None = None) -> str | None:
        if key not in self.objects:
            raise KeyError(key)
        return f"https://objects.example/{key}?signature=x" if self.presigns else None
