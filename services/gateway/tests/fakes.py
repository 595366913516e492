"""In-memory stand-ins for the gateway's ports (core.ports), for testing its use cases alone.
`calls`, shared by the fakes of one test, records the order in which the ports were used."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simlab.bundle import from_source
from simlab.common.errors import Code, SimlabError, invalid, not_found
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param
from simlab.transport.models import schema_from_proto
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.bundles import BundleStore
from simlab_gateway.core.downloads import Artifacts
from simlab_gateway.core.jobs import Jobs
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.models import Builtin, Models, PushRules
from simlab_gateway.core.ports import Registration
from simlab_gateway.core.shares import ShareLinks
from simlab_gateway.core.streams import StreamLimits
from simlab_gateway.core.studies import StudyPlan
from simlab_gateway.core.study_use_cases import Studies
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
    job_queries: list[pb.ListJobsRequest] = field(default_factory=list)
    share_links: list[tuple[str, pb.CreateShareLinkRequest]] = field(default_factory=list)
    # (owner, study_id) -> study, and each study's points in index order (another owner's
    # study is not found, as in the job store).
    studies: dict[tuple[str, str], pb.Study] = field(default_factory=dict)
    points: dict[str, list[pb.StudyPoint]] = field(default_factory=dict)
    study_plans: list[tuple[str, str, StudyPlan]] = field(default_factory=list)
    # Each ListStudyPoints call: (study_id, page_token, changed_since).
    point_reads: list[tuple[str, str, datetime | None]] = field(default_factory=list)

    def add(self, owner: str, job: pb.Job) -> pb.Job:
        self.jobs[owner, job.job_id] = job
        return job

    def add_model(self, model: pb.Model) -> pb.Model:
        self.models.append(model)
        return model

    async def create_job(self, owner: str, request_id: str, plan: JobPlan) -> tuple[pb.Job, bool]:
        self.calls.append("create_job")
        # As the job store: a run of the latest version is refused once a later one is seen.
        if plan.latest and plan.model_version != max(
            model.version for model in self._visible(owner, plan.model)
        ):
            raise invalid("latest", f"{plan.model}@v{plan.model_version} is not the latest")
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
        self.job_queries.append(query)
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
        self, owner: str, request: pb.CreateShareLinkRequest
    ) -> pb.CreateShareLinkResponse:
        if request.study_id:
            await self.get_study(owner, request.study_id)
        else:
            await self.get_job(owner, request.job_id)
        self.share_links.append((owner, request))
        link = pb.ShareLink(job_id=request.job_id, study_id=request.study_id)
        return pb.CreateShareLinkResponse(link=link)

    async def list_share_links(
        self, owner: str, query: pb.ListShareLinksRequest
    ) -> pb.ListShareLinksResponse:
        links = [
            pb.ShareLink(job_id=r.job_id, study_id=r.study_id)
            for o, r in self.share_links
            if o == owner and (r.job_id, r.study_id) == (query.job_id, query.study_id)
        ]
        return pb.ListShareLinksResponse(links=links)

    async def revoke_share_link(self, owner: str, link_id: str) -> pb.ShareLink:
        return pb.ShareLink()

    def _visible(self, owner: str, name: str | None = None) -> list[pb.Model]:
        return [
            m
            for m in self.models
            if (name is None or m.name == name)
            and (m.builtin or m.public or m.owner == owner or not owner)
        ]

    def add_study(self, owner: str, study: pb.Study, points: list[pb.StudyPoint]) -> pb.Study:
        self.studies[owner, study.study_id] = study
        self.points[study.study_id] = points
        return study

    def change_point(self, study_id: str, point: pb.StudyPoint, at: datetime | None = None) -> None:
        """The point's run changed (at `at`, by default now): its seq goes up."""
        changed = pb.StudyPoint()
        changed.CopyFrom(point)
        changed.seq = self.points[study_id][point.index].seq + 1
        changed.updated_at.FromDatetime(at or datetime.now(UTC))
        self.points[study_id][point.index] = changed

    async def create_study(
        self, owner: str, request_id: str, plan: StudyPlan
    ) -> tuple[pb.Study, bool]:
        self.calls.append("create_study")
        for o, r, _ in self.study_plans:
            if (o, r) == (owner, request_id) and request_id:
                return next(s for (so, _), s in self.studies.items() if so == owner), False
        self.study_plans.append((owner, request_id, plan))
        study = pb.Study(
            study_id=f"study{len(self.study_plans)}",
            owner=owner,
            spec=plan.spec,
            model_version=plan.model_version,
            primary_output=plan.primary_output,
            swept=plan.swept,
            points=len(plan.points),
            state=pb.STUDY_STATE_QUEUED,
            request_id=request_id,
        )
        points = [
            pb.StudyPoint(index=i, job_id=f"{study.study_id}-p{i}", seed=p.seed, seq=1)
            for i, p in enumerate(plan.points)
        ]
        return self.add_study(owner, study, points), True

    async def get_study(self, owner: str, study_id: str) -> pb.Study:
        self.calls.append("get_study")
        study = self.studies.get((owner, study_id))
        if study is None:
            raise not_found(f"study {study_id}")
        # A new message on each read, as from the job store.
        read = pb.Study()
        read.CopyFrom(study)
        return read

    async def list_studies(
        self, owner: str, query: pb.ListStudiesRequest
    ) -> pb.ListStudiesResponse:
        return pb.ListStudiesResponse(
            studies=[s for (o, _), s in self.studies.items() if o == owner]
        )

    async def list_study_points(
        self, owner: str, query: pb.ListStudyPointsRequest, changed_since: datetime | None = None
    ) -> pb.ListStudyPointsResponse:
        self.point_reads.append((query.study_id, query.page_token, changed_since))
        await self.get_study(owner, query.study_id)
        found = [
            p
            for p in self.points[query.study_id]
            if changed_since is None or p.updated_at.ToDatetime(UTC) >= changed_since
        ]
        start = int(query.page_token or 0)
        end = start + (query.page_size or 1000)
        return pb.ListStudyPointsResponse(
            points=found[start:end], next_page_token=str(end) if end < len(found) else ""
        )

    async def cancel_study(self, owner: str, study_id: str) -> pb.Study:
        await self.get_study(owner, study_id)
        self.studies[owner, study_id].state = pb.STUDY_STATE_CANCELLED
        return await self.get_study(owner, study_id)

    async def compare_points(
        self, owner: str, query: pb.ComparePointsRequest
    ) -> pb.ComparePointsResponse:
        await self.get_study(owner, query.study_id)
        points = self.points[query.study_id]
        return pb.ComparePointsResponse(a=points[query.a], b=points[query.b], blocks=10)

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


def fake_studies(store: FakeJobStore, models: Models, max_points: int = 100) -> Studies:
    """The study use cases on fakes: at most `max_points` points, 8 shards, a poll every 10 ms."""
    return Studies(store, models, StreamLimits(2, "MAX_STREAMS"), max_points, 8, poll_s=0.01)


def fake_api(
    store: FakeJobStore,
    max_bundle_bytes: int,
    resolve_share: Callable[[str], Awaitable[Principal]] | None = None,
) -> Any:
    """The API's ASGI application (behind its request gate) on fakes; alice-token is alice."""
    objects = FakeObjects()
    models = fake_models(store, objects, max_bundle_bytes=max_bundle_bytes)
    service = SimulationService(
        Authenticator({"alice-token": "alice"}, resolve_share),
        models,
        Jobs(store, models, 8),
        ShareLinks(store),
        models.feeds,
        Artifacts(store, objects, True),
        fake_studies(store, models),
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
