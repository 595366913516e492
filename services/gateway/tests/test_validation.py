"""Bad input is INVALID_ARGUMENT naming its field, checked before anything is looked up or
subscribed to; it never reaches the job store, NATS or an encoder as INTERNAL/UNKNOWN."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.gateway.tests.fakes import FakeJobStore, asgi_post, toy_version
from services.gateway.tests.test_limits import api, call
from simlab.common.errors import SimlabError
from simlab_gateway.core.ids import check_job_id

ALICE = {"content-type": "application/json", "authorization": "Bearer alice-token"}


def rpc(method: str, body: str, store: FakeJobStore | None = None) -> tuple[int, dict[str, Any]]:
    store = store or FakeJobStore()
    status, answer, _ = call(method, body.encode(), ALICE, app=api(store))
    return status, answer


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("GetJob", '{"jobId": "\\u0000"}', "job_id"),
        ("GetJob", '{"jobId": "*"}', "job_id"),
        ("GetJob", json.dumps({"jobId": "a" * 100_000}), "job_id"),
        ("CancelJob", '{"jobId": "jobs.>"}', "job_id"),
        ("GetProgressHistory", '{"jobId": ""}', "job_id"),
        ("ListArtifacts", '{"jobId": "A B"}', "job_id"),
        ("CreateShareLink", '{"jobId": "../x"}', "job_id"),
        ("ListShareLinks", '{"jobId": "\\u0000"}', "job_id"),
        ("RevokeShareLink", '{"linkId": "\\u0000"}', "link_id"),
        ("ListJobs", json.dumps({"pageToken": "x" * 10_000}), "page_token"),
        ("ListJobs", '{"model": "\\u0000"}', "model"),
        ("ListPresets", json.dumps({"model": "m" * 5000}), "model"),
        ("DeletePreset", '{"name": "a\\u0000"}', "name"),
        ("SavePreset", '{"preset": {"name": "\\u0000", "model": "toy"}}', "preset.name"),
        ("GetModel", json.dumps({"model": "m" * 5000}), "model"),
        ("ListModelVersions", '{"name": "\\u0000"}', "name"),
        ("SubmitJob", '{"model": "toy", "parameters": {"scale": 1e400}}', "parameters.scale"),
        ("SubmitJob", '{"model": "toy", "parameters": {"scale": -1e400}}', "parameters.scale"),
        ("SubmitJob", '{"model": "toy", "parameters": {"scale": "NaN"}}', "parameters.scale"),
        (
            "SubmitJob",
            '{"model": "toy", "parameters": {"scale": 1}, "requestId": "\\u0000"}',
            "request_id",
        ),
        (
            "SavePreset",
            '{"preset": {"name": "p", "model": "toy", "parameters": {"scale": 1e999}}}',
            "parameters.scale",
        ),
        ("GetArtifact", json.dumps({"jobId": "job1", "name": "a/" * 2000 + "x"}), "name"),
        ("GetArtifact", '{"jobId": "job1", "name": "a\\u0000"}', "name"),
        ("TailLogs", '{"jobId": "job1", "shard": -1}', "shard"),
        ("WatchJob", '{"jobId": "*"}', "job_id"),
        ("WatchJob", '{"jobId": ">"}', "job_id"),
        ("TailLogs", '{"jobId": "\\u0000"}', "job_id"),
        ("GetStudy", '{"studyId": "*"}', "study_id"),
        ("CancelStudy", '{"studyId": "studies.>"}', "study_id"),
        ("ListStudyPoints", '{"studyId": "s1", "pageSize": -1}', "page_size"),
        ("ComparePoints", '{"studyId": "s1", "a": 1, "b": 1}', "b"),
        ("ListStudies", json.dumps({"pageToken": "x" * 10_000}), "page_token"),
        ("WatchStudy", '{"studyId": ">"}', "study_id"),
        ("CreateShareLink", '{"studyId": "a b"}', "study_id"),
        ("ListShareLinks", '{"jobId": "job1", "studyId": "s1"}', "study_id"),
        (
            "SubmitStudy",
            '{"spec": {"model": "toy", "parameters": {"samples": 1e400}}}',
            "spec.parameters.samples",
        ),
        (
            "SubmitStudy",
            '{"spec": {"model": "toy", "axes": [{"parameter": "scale", "values": '
            '{"values": [1, -1e400]}}]}}',
            "spec.axes[0].values[1]",
        ),
        ("SubmitStudy", '{"spec": {"model": "toy@v0"}}', "spec.model"),
        ("SubmitStudy", '{"spec": {"model": "toy"}, "requestId": "\\u0000"}', "request_id"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(method: str, body: str, field: str) -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    _, answer = _unary_or_stream(method, body, store)
    assert answer["code"] == "invalid_argument", answer
    assert answer["message"].startswith(f"{field}: "), answer
    # Nothing was looked up: no store call names the bad value.
    assert not any("\0" in c or "*" in c for c in store.calls)


def _unary_or_stream(method: str, body: str, store: FakeJobStore) -> tuple[int, dict[str, Any]]:
    if method not in ("WatchJob", "WatchStudy", "TailLogs", "GetArtifact"):
        return rpc(method, body, store)
    # A server stream over Connect: one enveloped JSON message; the error ends the stream.
    payload = body.encode()
    framed = b"\0" + len(payload).to_bytes(4, "big") + payload
    headers = ALICE | {"content-type": "application/connect+json"}
    answer = asgi_post(api(store), method, framed, headers)
    assert answer.body[0] & 0b10, "an end-of-stream message"
    return answer.status, json.loads(answer.body[5:])["error"]


@pytest.mark.parametrize("value", ["5f3a9c0d1e2b4a68", "job1", "a-b-c", "0" * 64])
def test_job_ids_of_the_job_store_and_the_tests_are_valid(value: str) -> None:
    assert check_job_id(value) == value


@pytest.mark.parametrize("value", ["", "-a", "A", "a.b", "a*", "a>", "a b", "a\0", "a" * 65])
def test_what_cannot_be_a_job_id_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(SimlabError) as caught:
        check_job_id(value, field="first.job_id")
    assert caught.value.field == "first.job_id"
