"""The job store as the platform's services call it: one gRPC channel with the service
token; its gRPC errors come back as SimlabError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from simlab.common.grpc_util import aio_channel, bearer
from simlab.transport.errors import from_grpc
from simlab.v1 import jobstore_pb2_grpc

T = TypeVar("T")
TIMEOUT_S = 30.0


class ServiceJobStoreClient:
    """Base of each service's job-store adapter, which adds the calls that service makes."""

    def __init__(self, target: str, service_token: str) -> None:
        self.channel = aio_channel(target)
        self.stub = jobstore_pb2_grpc.JobStoreStub(self.channel)
        self.metadata = bearer(service_token)

    async def close(self) -> None:
        await self.channel.close()

    async def _call(self, method: Callable[..., Awaitable[T]], request: object) -> T:
        try:
            return await method(request, metadata=self.metadata, timeout=TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from None
