"""Coalesces concurrent requests into batches: while a batch is being written, new requests
queue up and go together in the next. Under load many round trips and commits become one;
a lone request waits for at most the batch already in flight. By default one batch is written
at a time; `max_in_flight` lets more overlap (a batch prepared while another is answered),
where batches need not follow one another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    def __init__(
        self,
        write: Callable[[list[Item]], Awaitable[list[Result]]],
        max_batch: int = 500,
        max_in_flight: int = 1,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if len(self._writers) < self._max_in_flight:
            self._writers.add(asyncio.create_task(self._write_all()))
        return await future

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    results = await self._write([item for item, _ in batch])
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # the caller may have gone (deadline)
                        future.set_result(result)
        except asyncio.CancelledError:
            # Shutting down: whatever is still queued will not be written.
            for _, future in self._waiting:
                future.cancel()
            raise
        finally:
            # At once, not in a done callback: a request queued from now on needs a new writer.
            task = asyncio.current_task()
            assert task is not None
            self._writers.discard(task)
