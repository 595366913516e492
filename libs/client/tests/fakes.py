"""Stand-ins shared by the client's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from simlab import cli
from simlab.client import Client
from simlab.v1 import simulation_pb2 as pb


class RpcError(grpc.RpcError):
    """A failed call as a fake stub raises it: a status code and its details, no metadata."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[()]:
        return ()


def cli_calls(monkeypatch: pytest.MonkeyPatch, stub: object) -> None:
    """Every Client the CLI makes calls `stub` instead of a gateway; output is 200 wide."""

    def client(server: str | None = None, token: str | None = None) -> Client:
        made = Client("http://simlab.test:8080", token)
        made.stub = stub  # type: ignore[assignment]
        return made

    monkeypatch.setattr(cli, "Client", client)
    monkeypatch.setattr(cli.out, "width", 200)


# ---- studies: a fake gateway that serves one study of european_option ------------------------

OPTION = pb.Model(
    name="european_option",
    version=3,
    kind=pb.MODEL_KIND_BLOCKS,
    primary_output="price",
    parameters=[
        pb.Parameter(name="spot", type=pb.PARAMETER_TYPE_FLOAT),
        pb.Parameter(name="strike", type=pb.PARAMETER_TYPE_FLOAT),
        pb.Parameter(name="volatility", type=pb.PARAMETER_TYPE_FLOAT),
        pb.Parameter(name="paths", type=pb.PARAMETER_TYPE_INT, is_sample_count=True),
    ],
)
STRIKES = (90, 100, 110)
VOLATILITIES = (0.1, 0.3)


def study_point(
    index: int,
    state: pb.JobState = pb.JOB_STATE_SUCCEEDED,
    seq: int = 5,
    samples_done: int = 100_000,
    estimate: float | None = None,
) -> pb.StudyPoint:
    """Point `index` of the 3 x 2 grid strike x volatility: price 10 + index, stderr 0.1."""
    strike, volatility = STRIKES[index // 2], VOLATILITIES[index % 2]
    point = pb.StudyPoint(
        index=index, job_id=f"job{index}", seed=1000 + index, state=state, seq=seq
    )
    point.parameters.update(
        {"spot": 100, "strike": strike, "volatility": volatility, "paths": 100_000}
    )
    point.progress.samples_done, point.progress.samples_total = samples_done, 100_000
    if samples_done:
        point.progress.estimate = 10.0 + index if estimate is None else estimate
        point.progress.stderr = 0.1
    return point


def grid_study(state: pb.StudyState = pb.STUDY_STATE_SUCCEEDED, **counts: int) -> pb.Study:
    spec = pb.StudySpec(model="european_option", seed=7, crn=True, shards=1, title="smile")
    spec.parameters.update({"spot": 100, "paths": 100_000})
    strikes = spec.axes.add(parameter="strike").values
    for strike in STRIKES:
        strikes.values.add(number_value=strike)
    spec.axes.add(parameter="volatility", range=pb.StudyRange(start=0.1, stop=0.3, count=2))
    study = pb.Study(
        study_id="s1", owner="alice", title="smile", spec=spec, model_version=3,
        primary_output="price", swept=["strike", "volatility"], points=6, state=state,
        counts=pb.StudyCounts(**(counts or {"succeeded": 6})), samples_done=600_000,
        samples_total=600_000,
    )  # fmt: skip
    study.created_at.FromSeconds(1_790_000_000)
    return study


class StudyGateway:
    """The study RPCs of a gateway, with what they were asked. `watches` scripts WatchStudy:
    each call plays the next (events, then the error the stream breaks with, or None)."""

    def __init__(self) -> None:
        self.models = {"european_option": OPTION}
        self.study = grid_study()
        self.points = [study_point(i) for i in range(6)]
        self.submits: list[pb.SubmitStudyRequest] = []
        self.point_pages: list[pb.ListStudyPointsRequest] = []
        self.cancels: list[str] = []
        self.compares: list[pb.ComparePointsRequest] = []
        self.share_requests: list[pb.CreateShareLinkRequest] = []
        self.list_jobs: list[pb.ListJobsRequest] = []
        self.jobs: list[pb.Job] = []
        self.artifacts: dict[tuple[str, str], bytes] = {}
        self.watches: list[tuple[list[pb.StudyEvent], grpc.RpcError | None]] = []

    def GetModel(self, request: pb.GetModelRequest, **_: Any) -> pb.Model:
        if model := self.models.get(request.model.partition("@")[0]):
            return model
        raise RpcError(grpc.StatusCode.NOT_FOUND, f"model {request.model} not found")

    def SubmitStudy(self, request: pb.SubmitStudyRequest, **_: Any) -> pb.SubmitStudyResponse:
        self.submits.append(request)
        study = pb.Study(study_id="s1", spec=request.spec, points=6, state=pb.STUDY_STATE_QUEUED)
        return pb.SubmitStudyResponse(study=study, created=True)

    def GetStudy(self, request: pb.GetStudyRequest, **_: Any) -> pb.Study:
        if request.study_id != self.study.study_id:
            raise RpcError(grpc.StatusCode.NOT_FOUND, f"study {request.study_id} not found")
        return self.study

    def ListStudies(self, request: pb.ListStudiesRequest, **_: Any) -> pb.ListStudiesResponse:
        # Two studies, one a page: the first page says where the next starts.
        if request.page_token == "":
            return pb.ListStudiesResponse(studies=[self.study], next_page_token="p2")
        older = pb.Study(study_id="s0", spec=pb.StudySpec(model="pi"), points=2)
        return pb.ListStudiesResponse(studies=[older])

    def ListStudyPoints(
        self, request: pb.ListStudyPointsRequest, **_: Any
    ) -> pb.ListStudyPointsResponse:
        """Pages of 4 points (whatever page_size asks), so that paging is exercised."""
        self.point_pages.append(request)
        start = int(request.page_token or 0)
        page = self.points[start : start + 4]
        more = start + 4 < len(self.points)
        return pb.ListStudyPointsResponse(
            points=page, next_page_token=str(start + 4) if more else ""
        )

    def WatchStudy(self, request: pb.WatchStudyRequest, **_: Any) -> Iterator[pb.StudyEvent]:
        events, error = (
            self.watches.pop(0)
            if self.watches
            else ([pb.StudyEvent(study=self.study, points=self.points, snapshot=True)], None)
        )
        yield from events
        if error is not None:
            raise error

    def CancelStudy(self, request: pb.CancelStudyRequest, **_: Any) -> pb.Study:
        self.cancels.append(request.study_id)
        cancelled = pb.Study()
        cancelled.CopyFrom(self.study)
        cancelled.state = pb.STUDY_STATE_CANCELLED
        cancelled.counts.CopyFrom(pb.StudyCounts(succeeded=2, cancelled=4))
        return cancelled

    def ComparePoints(self, request: pb.ComparePointsRequest, **_: Any) -> pb.ComparePointsResponse:
        self.compares.append(request)
        return pb.ComparePointsResponse(
            a=self.points[request.a], b=self.points[request.b], difference=-4.25,
            stderr=0.002, stderr_independent=0.05, correlation=0.998, blocks=10,
            confidence=0.95, half_width=0.0039,
        )  # fmt: skip

    def CreateShareLink(
        self, request: pb.CreateShareLinkRequest, **_: Any
    ) -> pb.CreateShareLinkResponse:
        self.share_requests.append(request)
        link = pb.ShareLink(link_id="l1", job_id=request.job_id, study_id=request.study_id)
        link.created_at.FromSeconds(1_790_000_000)
        return pb.CreateShareLinkResponse(link=link, token="simlab_share_t")

    def ListShareLinks(
        self, request: pb.ListShareLinksRequest, **_: Any
    ) -> pb.ListShareLinksResponse:
        link = pb.ShareLink(link_id="l1", study_id=request.study_id, job_id=request.job_id)
        return pb.ListShareLinksResponse(links=[link])

    def ListJobs(self, request: pb.ListJobsRequest, **_: Any) -> pb.ListJobsResponse:
        """`jobs` two a page."""
        self.list_jobs.append(request)
        start = int(request.page_token or 0)
        end = start + min(request.page_size or 50, 2)
        more = end < len(self.jobs)
        return pb.ListJobsResponse(
            jobs=self.jobs[start:end], next_page_token=str(end) if more else ""
        )

    def GetJob(self, request: pb.GetJobRequest, **_: Any) -> pb.Job:
        for job in self.jobs:
            if job.job_id == request.job_id:
                return job
        raise RpcError(grpc.StatusCode.NOT_FOUND, f"job {request.job_id} not found")

    def WatchJob(self, request: pb.WatchJobRequest, **_: Any) -> Iterator[pb.JobEvent]:
        yield pb.JobEvent(job=self.GetJob(pb.GetJobRequest(job_id=request.job_id)), seq=9)

    def GetArtifact(self, request: pb.GetArtifactRequest, **_: Any) -> Iterator[pb.ArtifactChunk]:
        yield pb.ArtifactChunk(data=self.artifacts[(request.job_id, request.name)])
