"""A study's results as CSV: the rows (pure), and GET /studies/<id>/study.csv, streamed a page
of points at a time, allowed as the study may be read (a share link of it too)."""

from __future__ import annotations

import csv
import io
from statistics import NormalDist

import pytest

from services.gateway.tests.fakes import FakeJobStore, FakeObjects, fake_models, fake_studies
from services.gateway.tests.test_http import call
from services.gateway.tests.test_study_use_cases import store_with_study
from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import SHARE_TOKEN_PREFIX
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core import study_csv
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.bundles import BundleStore
from simlab_gateway.core.code import CodeDownloads
from simlab_gateway.core.downloads import Artifacts
from simlab_gateway.transport.http import ServicesFirst, gateway_app

Z95 = NormalDist().inv_cdf(0.975)
SHARES = {SHARE_TOKEN_PREFIX + "one": "study1", SHARE_TOKEN_PREFIX + "two": "study2"}


def study(**fields: object) -> pb.Study:
    return pb.Study(study_id="s1", swept=["strike", "samples"], **fields)  # type: ignore[arg-type]


def point(index: int = 0, **fields: object) -> pb.StudyPoint:
    found = pb.StudyPoint(index=index, job_id=f"p{index}", **fields)  # type: ignore[arg-type]
    found.parameters.update({"strike": 95.5, "samples": 1000, "volatility": 0.2})
    return found


def test_a_row_has_the_swept_parameters_the_estimate_and_its_95_percent_interval() -> None:
    done = point(
        3,
        state=pb.JOB_STATE_SUCCEEDED,
        progress=pb.Progress(samples_done=1000, estimate=10.0, stderr=0.5),
    )
    row = study_csv.row(study(), done)
    assert row[:4] == [3, 95.5, 1000, 10.0]
    assert row[4] == 0.5
    assert row[5:7] == pytest.approx([10.0 - Z95 * 0.5, 10.0 + Z95 * 0.5])
    assert row[7:] == ["succeeded", "", 1000, "p3"]


def test_a_precision_target_sets_the_intervals_confidence_and_its_stop_the_interval() -> None:
    target = study(spec=pb.StudySpec(precision=pb.Precision(rel_tol=0.01, confidence=0.99)))
    running = point(progress=pb.Progress(samples_done=200, estimate=1.0, stderr=0.1))
    z99 = NormalDist().inv_cdf(0.995)
    assert study_csv.row(target, running)[5:7] == pytest.approx([1 - z99 * 0.1, 1 + z99 * 0.1])
    stopped = point(
        state=pb.JOB_STATE_SUCCEEDED,
        progress=pb.Progress(samples_done=3000, estimate=1.0, stderr=0.1),
        stop=pb.StopInfo(
            reason=pb.STOP_REASON_PRECISION_REACHED, samples_used=2000, half_width=0.05
        ),
    )
    assert study_csv.row(target, stopped)[5:] == [
        0.95,
        1.05,
        "succeeded",
        "precision_reached",
        2000,
        "p0",
    ]


def test_a_point_without_an_estimate_yet_has_empty_cells() -> None:
    queued = point(state=pb.JOB_STATE_QUEUED)
    assert study_csv.encode([study_csv.row(study(), queued)]) == b"0,95.5,1000,,,,,queued,,0,p0\n"
    unbounded = point(progress=pb.Progress(estimate=1.0, stderr=float("inf")))
    assert study_csv.row(study(), unbounded)[3:7] == [1.0, float("inf"), None, None]


def test_a_swept_parameter_named_like_a_result_column_is_told_apart() -> None:
    assert study_csv.header(study()) == [
        "index",
        "strike",
        "parameters.samples",
        *study_csv.RESULT_COLUMNS,
    ]


async def resolve(token: str) -> Principal:
    if token not in SHARES:
        raise SimlabError(Code.UNAUTHENTICATED, "unknown share link")
    return Principal("alice", shared_study=SHARES[token])


def app(store: FakeJobStore) -> ServicesFirst:
    objects = FakeObjects()
    models = fake_models(store, objects)
    code = CodeDownloads(store, BundleStore(objects), models)
    auth = Authenticator({"alice-token": "alice", "bob-token": "bob"}, resolve)
    studies = fake_studies(store, models)
    return gateway_app((), auth, Artifacts(store, objects, True), code, studies, None)


def rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_the_csv_has_one_row_per_point_read_a_page_at_a_time() -> None:
    store = store_with_study(points=2500)
    for found in store.points["study1"]:
        found.parameters.update({"scale": found.index / 10})
        found.progress.CopyFrom(pb.Progress(samples_done=100, estimate=found.index, stderr=1.0))
    reply = call(app(store), "GET", "/studies/study1/study.csv", authorization="Bearer alice-token")
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="study-study1.csv"'
    table = rows(reply.body)
    assert table[0] == ["index", "scale", *study_csv.RESULT_COLUMNS]
    assert len(table) == 2501
    assert table[2500][:4] == ["2499", "249.9", "2499.0", "1.0"]
    assert [token for _, token, _ in store.point_reads] == ["", "1000", "2000"]


def test_a_study_share_link_downloads_its_study_only() -> None:
    store = store_with_study()
    store.add_study("alice", pb.Study(study_id="study2", owner="alice"), [])
    shared = app(store)
    reply = call(shared, "GET", "/studies/study1/study.csv", f"share={SHARE_TOKEN_PREFIX}one")
    assert reply.status == 200 and len(rows(reply.body)) == 4
    reply = call(shared, "GET", "/studies/study1/study.csv", f"share={SHARE_TOKEN_PREFIX}two")
    assert reply.status == 403


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("", {"authorization": "Bearer bob-token"}, 404),
        ("", {}, 401),
        (f"share={SHARE_TOKEN_PREFIX}nope", {}, 401),
    ],
)
def test_the_csv_is_refused_as_the_study_is(
    query: str, headers: dict[str, str], status: int
) -> None:
    reply = call(app(store_with_study()), "GET", "/studies/study1/study.csv", query, **headers)
    assert reply.status == status


def test_a_malformed_study_id_and_head() -> None:
    shared = app(store_with_study())
    reply = call(shared, "GET", "/studies/a%20b/study.csv", authorization="Bearer alice-token")
    assert reply.status == 400 and reply.body.startswith(b"study_id: ")
    reply = call(shared, "HEAD", "/studies/study1/study.csv", authorization="Bearer alice-token")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.headers["content-type"].startswith("text/csv")
