"""Use cases on studies: submitting one (its points planned by core.studies, stored by one call
to the job store), reading it and its points, watching it, cancelling it, comparing two of its
points, and its results as CSV. Each asks the job store as the owner the caller may act for
(core.auth; a study's share link reads the study and its points).

WatchStudy is one stream per watcher, however many points: the study and every point in
snapshot events, then a poll of the job store about once a second for the points that changed
since the newest change seen (minus an overlap), each sent when its seq is newer than the one
sent. Both times are the job store's (the points' updated_at), so the gateway's clock, which
may differ from it, plays no part."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta

from simlab.common.errors import invalid
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core import study_csv
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ids import check_study_id, check_text
from simlab_gateway.core.models import Models
from simlab_gateway.core.ports import JobStore
from simlab_gateway.core.streams import StreamLimits
from simlab_gateway.core.studies import StudyRequest, plan_study, within_spec
from simlab_gateway.core.submission import check_request_id

log = logging.getLogger("gateway")

POLL_S = 1.0
# How far before the newest change seen each poll looks: a point's change stamped before that
# change's but committed after the poll that saw it is still found, and so is one stamped by
# another job-store replica whose clock is a little behind.
POLL_OVERLAP_S = 5.0
# Points per event, and per page read from the job store.
EVENT_POINTS = 1000
# ListStudyPointsRequest.page_size's bound.
MAX_PAGE_SIZE = 10_000
# The job store's tokens are a few dozen characters.
MAX_PAGE_TOKEN = 512
ENDED = frozenset({pb.STUDY_STATE_SUCCEEDED, pb.STUDY_STATE_FAILED, pb.STUDY_STATE_CANCELLED})


class Studies:
    def __init__(
        self,
        store: JobStore,
        models: Models,
        limits: StreamLimits,
        max_points: int,
        max_shards: int,
        poll_s: float = POLL_S,
    ) -> None:
        self.store = store
        self.models = models
        self.limits = limits
        self.max_points = max_points
        self.max_shards = max_shards
        self.poll_s = poll_s

    async def submit(self, caller: Principal, request: StudyRequest) -> pb.SubmitStudyResponse:
        """Every point runs the model version resolved here; nothing is stored unless every
        point fits it."""
        owner = caller.owner_for("SubmitStudy")
        check_request_id(request.request_id)
        with within_spec():
            runnable = await self.models.runnable(owner, request.spec.model)
        # Thousands of points take a fraction of a second to check: not on the event loop.
        plan = await asyncio.to_thread(
            plan_study, runnable, request, self.max_points, self.max_shards
        )
        study, created = await self.store.create_study(owner, request.request_id, plan)
        if created:
            log.info(
                "study submitted",
                extra={"study_id": study.study_id, "owner": owner, "points": len(plan.points)},
            )
        return pb.SubmitStudyResponse(study=study, created=created)

    async def get(self, caller: Principal, study_id: str) -> pb.Study:
        owner = caller.owner_for("GetStudy", study_id=check_study_id(study_id))
        return await self.store.get_study(owner, study_id)

    async def list_studies(
        self, caller: Principal, query: pb.ListStudiesRequest
    ) -> pb.ListStudiesResponse:
        check_text(query.page_token, "page_token", MAX_PAGE_TOKEN)
        return await self.store.list_studies(caller.owner_for("ListStudies"), query)

    async def points(
        self, caller: Principal, query: pb.ListStudyPointsRequest
    ) -> pb.ListStudyPointsResponse:
        owner = caller.owner_for("ListStudyPoints", study_id=check_study_id(query.study_id))
        check_text(query.page_token, "page_token", MAX_PAGE_TOKEN)
        if not 0 <= query.page_size <= MAX_PAGE_SIZE:
            raise invalid(
                "page_size", f"must be 0 (1,000) to {MAX_PAGE_SIZE:,}, got {query.page_size}"
            )
        return await self.store.list_study_points(owner, query)

    async def cancel(self, caller: Principal, study_id: str) -> pb.Study:
        owner = caller.owner_for("CancelStudy", study_id=check_study_id(study_id))
        study = await self.store.cancel_study(owner, study_id)
        log.info("study cancel requested", extra={"study_id": study_id, "owner": owner})
        return study

    async def compare(
        self, caller: Principal, query: pb.ComparePointsRequest
    ) -> pb.ComparePointsResponse:
        owner = caller.owner_for("ComparePoints", study_id=check_study_id(query.study_id))
        for field, index in (("a", query.a), ("b", query.b)):
            if index < 0:
                raise invalid(field, f"a point's index is 0 or more, got {index}")
        if query.a == query.b:
            raise invalid("b", f"compare two different points (both are {query.a})")
        return await self.store.compare_points(owner, query)

    async def watch(self, caller: Principal, study_id: str) -> AsyncGenerator[pb.StudyEvent]:
        """The study and all its points (snapshot events), then the points that changed, about
        once a second while the study runs; ends after the event in which it has ended."""
        owner = caller.owner_for("WatchStudy", study_id=check_study_id(study_id))
        with self.limits.hold(caller):
            study = await self.store.get_study(owner, study_id)
            # index -> the seq of the point last sent.
            sent: dict[int, int] = {}
            # The newest updated_at seen, by the job store's clock.
            newest = _EPOCH
            empty = True
            async for page in self._pages(owner, study_id):
                sent.update((point.index, point.seq) for point in page)
                newest = max(newest, _newest(page))
                yield pb.StudyEvent(study=study, points=page, snapshot=True)
                empty = False
            if empty:
                yield pb.StudyEvent(study=study, snapshot=True)
            while not _ended(study):
                await asyncio.sleep(self.poll_s)
                latest = await self.store.get_study(owner, study_id)
                changed: list[pb.StudyPoint] = []
                async for page in self._pages(owner, study_id, newest - _OVERLAP):
                    changed += (p for p in page if p.seq > sent.get(p.index, -1))
                    newest = max(newest, _newest(page))
                sent.update((point.index, point.seq) for point in changed)
                if changed or latest != study:
                    for start in range(0, max(len(changed), 1), EVENT_POINTS):
                        yield pb.StudyEvent(
                            study=latest, points=changed[start : start + EVENT_POINTS]
                        )
                study = latest

    async def results(self, caller: Principal, study_id: str) -> AsyncIterator[bytes]:
        """The study's results as CSV, one row per point, read page by page as it is sent.
        Refusals (no such study, a share link of another) come from this call, before any
        line."""
        owner = caller.owner_for("download", study_id=check_study_id(study_id))
        study = await self.store.get_study(owner, study_id)
        return self._csv(owner, study)

    async def _csv(self, owner: str, study: pb.Study) -> AsyncIterator[bytes]:
        yield study_csv.encode([study_csv.header(study)])
        async for page in self._pages(owner, study.study_id):
            yield study_csv.encode(study_csv.row(study, point) for point in page)

    async def _pages(
        self, owner: str, study_id: str, changed_since: datetime | None = None
    ) -> AsyncIterator[list[pb.StudyPoint]]:
        """The study's points (those that changed at or after `changed_since`), a page at a
        time, in index order."""
        token = ""
        while True:
            query = pb.ListStudyPointsRequest(
                study_id=study_id, page_size=EVENT_POINTS, page_token=token
            )
            page = await self.store.list_study_points(owner, query, changed_since)
            if page.points:
                yield list(page.points)
            token = page.next_page_token
            if not token:
                return


_OVERLAP = timedelta(seconds=POLL_OVERLAP_S)
_EPOCH = datetime.fromtimestamp(0, UTC)


def _newest(points: list[pb.StudyPoint]) -> datetime:
    return max(p.updated_at.ToDatetime(UTC) for p in points)


def _ended(study: pb.Study) -> bool:
    """Every point has ended: a cancelled study's runs may still be stopping."""
    settled = study.HasField("ended_at") or study.counts.queued + study.counts.running == 0
    return study.state in ENDED and settled
