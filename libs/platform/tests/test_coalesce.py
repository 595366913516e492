from __future__ import annotations

import asyncio

import pytest

from simlab.common.coalesce import Coalescer


def test_concurrent_requests_share_a_batch_and_get_their_own_result() -> None:
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    async def scenario() -> list[int]:
        coalescer = Coalescer(write, max_batch=4)
        return list(await asyncio.gather(*(coalescer.submit(i) for i in range(10))))

    assert asyncio.run(scenario()) == [i * 10 for i in range(10)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_requests_arriving_during_a_write_go_together_in_the_next() -> None:
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0.01)
        return items

    async def scenario() -> None:
        coalescer = Coalescer(write)
        first = asyncio.create_task(coalescer.submit(0))
        await asyncio.sleep(0.001)  # the first write is in flight
        await asyncio.gather(first, *(coalescer.submit(i) for i in range(1, 6)))

    asyncio.run(scenario())
    assert batches == [[0], [1, 2, 3, 4, 5]]


def test_a_failed_write_fails_its_batch_only() -> None:
    async def write(items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        if 2 in items:
            raise RuntimeError("database away")
        return items

    async def scenario() -> list[object]:
        coalescer = Coalescer(write, max_batch=2)
        return list(
            await asyncio.gather(*(coalescer.submit(i) for i in range(5)), return_exceptions=True)
        )

    # Batches [0, 1], [2, 3], [4]: the second fails, the third is still written.
    results = asyncio.run(scenario())
    assert results[:2] == [0, 1] and results[4] == 4
    assert all(isinstance(r, RuntimeError) for r in results[2:4])


def test_a_lone_request_after_a_batch_starts_a_new_writer() -> None:
    async def write(items: list[str]) -> list[str]:
        return [item.upper() for item in items]

    async def scenario() -> tuple[str, str]:
        coalescer = Coalescer(write)
        first = await coalescer.submit("a")
        return first, await coalescer.submit("b")

    assert asyncio.run(scenario()) == ("A", "B")


@pytest.mark.parametrize("max_batch", [1, 3])
def test_every_request_is_answered(max_batch: int) -> None:
    async def write(items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        return items

    async def scenario() -> list[int]:
        coalescer = Coalescer(write, max_batch=max_batch)
        return list(await asyncio.gather(*(coalescer.submit(i) for i in range(7))))

    assert asyncio.run(scenario()) == list(range(7))


def test_max_in_flight_batches_overlap_and_no_more() -> None:
    in_flight = 0
    most = 0
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        batches.append(items)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return items

    async def scenario() -> list[int]:
        coalescer = Coalescer(write, max_in_flight=2)
        first = asyncio.create_task(coalescer.submit(0))
        await asyncio.sleep(0.001)  # [0] is being written
        second = asyncio.create_task(coalescer.submit(1))
        await asyncio.sleep(0.001)  # so is [1], by a second writer
        rest = await asyncio.gather(*(coalescer.submit(i) for i in range(2, 6)))
        return [await first, await second, *rest]

    assert asyncio.run(scenario()) == list(range(6))
    # Two writes at once, never three: the rest waited for either.
    assert most == 2
    assert batches == [[0], [1], [2, 3, 4, 5]]
