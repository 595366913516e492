"""A refusal inside a batched answer (jobstore CreateJobs' results) <-> SimlabError: the job
store writes one where a single call would have failed with that status; the gateway raises it
again as that call's error."""

from __future__ import annotations

from simlab.common.errors import Code, SimlabError
from simlab.jobstore.v1 import jobstore_pb2 as store_pb


def refusal_to_pb(error: SimlabError) -> store_pb.Refusal:
    return store_pb.Refusal(
        code=error.code.name, message=error.message, field=error.field, quota=error.quota
    )


def refusal_from_pb(refusal: store_pb.Refusal) -> SimlabError:
    return SimlabError(
        Code[refusal.code], refusal.message, refusal.field or None, refusal.quota or None
    )
