"""Share links against a running job store: only the token's hash is stored, the owner lists
and revokes, nobody else can, a revoked or expired token resolves to nothing, and a link
expires after 30 days unless its creator said otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import psycopg
import pytest

from services.jobstore.tests.conftest import Client, status_of
from simlab.common.tokens import is_share_token
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.core.shares import NEVER_EXPIRES

pytestmark = pytest.mark.integration


def create(
    client: Client, job_id: str, owner: str = "ana", ttl: int = 0
) -> pb.CreateShareLinkResponse:
    request = store_pb.CreateShareLinkRequest(owner=owner, job_id=job_id, ttl_seconds=ttl)
    return client.call("CreateShareLink", request)


def resolve(client: Client, token: str) -> store_pb.ResolveShareTokenResponse:
    return client.call("ResolveShareToken", store_pb.ResolveShareTokenRequest(token=token))


def revoke(client: Client, link_id: str, owner: str = "ana") -> pb.ShareLink:
    request = store_pb.RevokeShareLinkRequest(owner=owner, link_id=link_id)
    return client.call("RevokeShareLink", request)


def test_a_link_resolves_to_its_owner_and_job_and_only_its_hash_is_stored(
    client: Client, pg_uri: str
) -> None:
    job = client.create(owner="ana")
    created = create(client, job.job_id)
    assert is_share_token(created.token) and len(created.token) > 40
    assert created.link.job_id == job.job_id
    assert not created.link.HasField("revoked_at")
    assert resolve(client, created.token) == store_pb.ResolveShareTokenResponse(
        owner="ana", job_id=job.job_id
    )
    with psycopg.connect(pg_uri) as conn:
        (row,) = conn.execute("SELECT * FROM share_links").fetchall()
    assert not any(created.token in str(value) for value in row)


def test_the_owner_lists_and_revokes_and_a_revoked_link_stops_resolving(client: Client) -> None:
    job = client.create(owner="ana")
    first, second = create(client, job.job_id), create(client, job.job_id, ttl=3600)
    listing = client.call(
        "ListShareLinks", store_pb.ListShareLinksRequest(owner="ana", job_id=job.job_id)
    )
    assert [link.link_id for link in listing.links] == [second.link.link_id, first.link.link_id]
    assert listing.links[0].expires_at.seconds - listing.links[0].created_at.seconds == 3600

    revoked = revoke(client, first.link.link_id)
    assert revoked.HasField("revoked_at")
    assert revoke(client, first.link.link_id).revoked_at == revoked.revoked_at
    assert status_of(lambda: resolve(client, first.token)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "this share link was revoked",
    )
    assert resolve(client, second.token).job_id == job.job_id


def test_another_owner_can_neither_create_list_nor_revoke(client: Client) -> None:
    job = client.create(owner="ana")
    link = create(client, job.job_id).link
    assert (
        status_of(lambda: create(client, job.job_id, owner="bob"))[0] is grpc.StatusCode.NOT_FOUND
    )
    listing = store_pb.ListShareLinksRequest(owner="bob", job_id=job.job_id)
    assert status_of(lambda: client.call("ListShareLinks", listing))[0] is grpc.StatusCode.NOT_FOUND
    assert status_of(lambda: revoke(client, link.link_id, owner="bob")) == (
        grpc.StatusCode.NOT_FOUND,
        f"share link {link.link_id} not found",
    )
    assert revoke(client, link.link_id).revoked_at.seconds > 0


def test_an_expired_or_unknown_token_is_unauthenticated(client: Client) -> None:
    job = client.create(owner="ana")
    short = create(client, job.job_id, ttl=1)
    assert resolve(client, short.token).owner == "ana"
    time.sleep(1.1)
    assert status_of(lambda: resolve(client, short.token)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "this share link has expired",
    )
    code, _ = status_of(lambda: resolve(client, short.token + "x"))
    assert code is grpc.StatusCode.UNAUTHENTICATED


def test_a_link_expires_after_30_days_by_default_and_never_only_when_asked(
    client: Client,
) -> None:
    job = client.create(owner="ana")
    unsaid = create(client, job.job_id).link
    assert unsaid.expires_at.seconds - unsaid.created_at.seconds == 30 * 24 * 3600
    never = create(client, job.job_id, ttl=NEVER_EXPIRES).link
    assert not never.HasField("expires_at")
    listing = client.call(
        "ListShareLinks", store_pb.ListShareLinksRequest(owner="ana", job_id=job.job_id)
    )
    assert [link.HasField("expires_at") for link in listing.links] == [False, True]


@pytest.mark.parametrize("ttl", [-2, 400 * 24 * 3600])
def test_a_ttl_out_of_range_is_invalid(client: Client, ttl: int) -> None:
    job = client.create(owner="ana")
    code, details = status_of(lambda: create(client, job.job_id, ttl=ttl))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("ttl_seconds: ")


def test_a_worker_token_cannot_touch_share_links(
    client: Client, worker_token: Callable[[str], str]
) -> None:
    job = client.create(owner="ana")
    request = store_pb.CreateShareLinkRequest(owner="ana", job_id=job.job_id)
    code, _ = status_of(
        lambda: client.call("CreateShareLink", request, token=worker_token(job.job_id))
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
