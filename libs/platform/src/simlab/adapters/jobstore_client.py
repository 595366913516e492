"""The job store as the platform's services call it: one gRPC channel with the service
token; its gRPC errors come back as SimlabError.

A job store that is restarting, being replaced by a rolling upgrade or briefly without its
database answers with a status that is not a refusal (UNAVAILABLE, CANCELLED, INTERNAL, ...):
an idempotent call is made again, with a growing delay, for up to `retry_for_s`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import stamina

from simlab.common.grpc_util import aio_channel, bearer
from simlab.jobstore.v1 import jobstore_pb2_grpc
from simlab.transport.errors import call_name, from_grpc, retry_unless_refused

T = TypeVar("T")
TIMEOUT_S = 30.0
log = logging.getLogger("simlab.jobstore_client")


class ServiceJobStoreClient:
    """Base of each service's job-store adapter, which adds the calls that service makes."""

    def __init__(self, target: str, service_token: str, *, retry_for_s: float) -> None:
        self.channel = aio_channel(target)
        self.stub = jobstore_pb2_grpc.JobStoreServiceStub(self.channel)
        self.metadata = bearer(service_token)
        self.retry_for_s = retry_for_s

    async def close(self) -> None:
        await self.channel.close()

    async def _call(
        self, method: Callable[..., Awaitable[T]], request: object, *, idempotent: bool = True
    ) -> T:
        """The call's answer. Only an idempotent call is retried: another one could be
        applied twice when an answer, not the request, was lost."""
        try:
            async for attempt in stamina.retry_context(
                on=retry_unless_refused(log, call_name(request)) if idempotent else _never,
                attempts=None,
                timeout=self.retry_for_s,
                wait_max=2.0,
            ):
                with attempt:
                    return await method(request, metadata=self.metadata, timeout=TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from None
        raise AssertionError("unreachable: the last attempt returns or raises")


def _never(error: Exception) -> bool:
    return False
