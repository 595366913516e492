"""In-memory stand-ins for the gateway's ports (core.ports), for testing its use cases alone.
`calls`, shared by the fakes of one test, records the order in which the ports were used."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from simlab.bundle import from_source
from simlab.common.errors import Code, SimlabError, not_found
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param
from simlab.transport.models import schema_from_proto
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Authenticator
from simlab_gateway.core.bundles import BundleStore
from simlab_gateway.core.downloads import Artifacts
from simlab_gateway.core.jobs import Jobs
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.models import Builtin, Models, PushRules
from simlab_gateway.core.ports import Registration
from simlab_gateway.core.shares import ShareLinks
from simlab_gateway.core.streams import StreamLimits
from simlab_gateway.core.submission import JobPlan
from simlab_gateway.core.watch import JobFeeds
from simlab_gateway.transport.models import model_to_proto
from simlab_gateway.transport.service import SimulationService, simulation_app

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
TOY_CODE = from_source("MODEL = ...\n", entry="toy.py")
BUILTINS = {"toy": Builtin(TOY, TOY_CODE, model_to_proto(TOY, TOY_CODE))}


def toy_version(version: int = 1, **fields: object) -> pb.Model:
    """Version `version` of the built-in toy model, as the job store records it."""
    model = pb.Model()
    model.CopyFrom(BUILTINS["toy"].registration)
    model.version = version
    for name, value in fields.items():
        setattr(model, name, value)
    return model


@dataclass
class FakeJobStore:
    calls: list[str] = field(default_factory=list)
    # (owner, job_id) -> job: another owner's job is not found, as in the job store.
    jobs: dict[tuple[str, str], pb.Job] = field(default_factory=dict)
    plans: list[tuple[str, JobPlan]] = field(default_factory=list)
    presets: list[tuple[str, pb.Preset]] = field(default_factory=list)
    # Every version of every model; each is visible to its owner, or to all when built-in or
    # public, as in the job store.
    models: list[pb.Model] = field(default_factory=list)
    registrations: list[tuple[str, Registration]] = field(default_factory=list)
    # What the next registration records (a Model: registered as the next version), or the
    # error it fails with; `registration_ends`: False leaves its job queued, for a test to end
    # it with an event.
    registration_outcome: pb.Model | pb.JobError = field(default_factory=pb.Model)
    registration_ends: bool = True

    def add(self, owner: str, job: pb.Job) -> pb.Job:
        self.jobs[owner, job.job_id] = job
        return job

    def add_model(self, model: pb.Model) -> pb.Model:
        self.models.append(model)
        return model

    async def create_job(self, owner: str, request_id: str, plan: JobPlan) -> tuple[pb.Job, bool]:
        self.calls.append("create_job")
        self.plans.append((owner, plan))
        job = pb.Job(job_id=f"job{len(self.plans)}", model=plan.model, shards=plan.shards)
        return self.add(owner, job), True

    async def get_job(self, owner: str, job_id: str) -> pb.Job:
        self.calls.append("get_job")
        # The platform (owner "") sees every job; registration jobs are kept under "".
        found = [j for (o, i), j in self.jobs.items() if i == job_id and owner in (o, "")]
        if not found:
            raise not_found(f"job {job_id}")
        return found[0]

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

    def _visible(self, owner: str, name: str | None = None) -> list[pb.Model]:
        return [
            m
            for m in self.models
            if (name is None or m.name == name)
            and (m.builtin or m.public or m.owner == owner or not owner)
        ]

    async def get_model(self, owner: str, name: str, version: int) -> pb.Model:
        self.calls.append("get_model")
        found = [m for m in self._visible(owner, name) if version in (0, m.version)]
        if not found:
            raise not_found(f"model {name}")
        return max(found, key=lambda m: m.version)

    async def list_models(self, owner: str) -> pb.ListModelsResponse:
        latest: dict[str, pb.Model] = {}
        for model in self._visible(owner):
            if model.version > latest.get(model.name, pb.Model()).version:
                latest[model.name] = model
        return pb.ListModelsResponse(models=[latest[name] for name in sorted(latest)])

    async def list_model_versions(self, owner: str, name: str) -> pb.ListModelVersionsResponse:
        found = sorted(self._visible(owner, name), key=lambda m: -m.version)
        if not found:
            raise not_found(f"model {name}")
        return pb.ListModelVersionsResponse(versions=found)

    async def begin_registration(self, owner: str, registration: Registration) -> pb.Job | pb.Model:
        self.calls.append("begin_registration")
        self.registrations.append((owner, registration))
        versions = [m for m in self.models if m.name == registration.name]
        if any(m.owner != owner for m in versions):
            raise SimlabError(Code.ALREADY_EXISTS, f"the model name {registration.name} is taken")
        latest = max(versions, key=lambda m: m.version, default=None)
        if latest is not None and latest.code_sha256 == registration.code_sha256:
            return latest
        job = pb.Job(
            job_id=f"reg{len(self.registrations)}",
            owner=owner,
            model=registration.name,
            kind=pb.JOB_KIND_REGISTRATION,
            state=pb.JOB_STATE_QUEUED,
            seq=1,
        )
        if self.registration_ends:
            job = self.end_registration(job, owner, registration)
        return self.add("", job)

    def end_registration(self, job: pb.Job, owner: str, registration: Registration) -> pb.Job:
        """The registration job once it ended, as the job store records it."""
        ended = pb.Job()
        ended.CopyFrom(job)
        ended.seq += 1
        outcome = self.registration_outcome
        if isinstance(outcome, pb.JobError):
            ended.state = pb.JOB_STATE_FAILED
            ended.error.CopyFrom(outcome)
            return ended
        model = pb.Model()
        model.CopyFrom(outcome)
        version = 1 + max((m.version for m in self.models if m.name == job.model), default=0)
        model.MergeFrom(
            pb.Model(
                name=registration.name,
                version=version,
                owner=owner,
                public=registration.public,
                code_sha256=registration.code_sha256,
                entry=registration.entry,
                files=registration.files,
            )
        )
        self.add_model(model)
        ended.state = pb.JOB_STATE_SUCCEEDED
        ended.summary.update({"model": job.model, "version": version})
        return ended

    async def register_builtin_model(self, model: pb.Model) -> pb.Model:
        self.calls.append("register_builtin_model")
        versions = [m for m in self.models if m.name == model.name]
        latest = max(versions, key=lambda m: m.version, default=None)
        if latest is not None and latest.code_sha256 == model.code_sha256:
            return latest
        registered = pb.Model()
        registered.CopyFrom(model)
        registered.version = latest.version + 1 if latest else 1
        return self.add_model(registered)


@dataclass
class FakeEvents:
    """Delivers `published` to a subscriber, as if those events came after it subscribed."""

    calls: list[str]
    published: list[pb.JobEvent] = field(default_factory=list)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[pb.JobEvent | None]]:
        self.calls.append("subscribe")
        queue: asyncio.Queue[pb.JobEvent] = asyncio.Queue()
        for event in self.published:
            if event.job_id == job_id:
                queue.put_nowait(event)

        async def live() -> AsyncIterator[pb.JobEvent | None]:
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
    puts: list[str] = field(default_factory=list)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.puts.append(key)
        self.objects[key] = data

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


def fake_models(
    store: FakeJobStore,
    objects: FakeObjects | None = None,
    events: FakeEvents | None = None,
    authors: frozenset[str] | None = None,
    max_bundle_bytes: int = 1000,
    registration_timeout_s: float = 5.0,
) -> Models:
    """The model use cases on fakes, with the toy model built in."""
    objects = objects if objects is not None else FakeObjects()
    events = events if events is not None else FakeEvents(store.calls)
    feeds = JobFeeds(store, events, FakeLogs(), objects, StreamLimits(10, "MAX_STREAMS"))
    rules = PushRules(authors, max_bundle_bytes, registration_timeout_s)
    return Models(store, BundleStore(objects), feeds, BUILTINS, schema_from_proto, rules)


def fake_api(store: FakeJobStore, max_bundle_bytes: int) -> Any:
    """The API's ASGI application (behind its request gate) on fakes; alice-token is alice."""
    objects = FakeObjects()
    models = fake_models(store, objects, max_bundle_bytes=max_bundle_bytes)
    service = SimulationService(
        Authenticator({"alice-token": "alice"}),
        models,
        Jobs(store, models, 8),
        ShareLinks(store),
        models.feeds,
        Artifacts(store, objects, True),
    )
    return simulation_app(service, max_bundle_bytes)


@dataclass
class Answer:
    """What an ASGI application sent back for one request, and how much of its body it read."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes
    read: int


def asgi_post(
    app: Any,
    method: str,
    body: bytes,
    headers: dict[str, str],
    chunk: int = 65536,
    http_version: str = "1.1",
) -> Answer:
    """One POST to `method` of the API, its body in `chunk`-byte pieces. After the body the
    client stays connected, as one reading a stream does, until the application is done."""
    path = f"/simlab.v1.SimulationService/{method}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": http_version,
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    offsets = list(range(0, len(body), chunk)) or [0]
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not offsets:
            await asyncio.Event().wait()
        start = offsets.pop(0)
        piece = body[start : start + chunk]
        read += len(piece)
        return {"type": "http.request", "body": piece, "more_body": bool(offsets)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, *rest = sent
    body_ = b"".join(m.get("body", b"") for m in rest)
    return Answer(start["status"], dict(start.get("headers", ())), body_, read)
