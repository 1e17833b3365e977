"""GroupBatcher is pure asyncio: these are unit tests, no service involved."""

import asyncio

import pytest

from election.ingest.async_batcher import GroupBatcher, Overloaded


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_a_lone_item_is_flushed_at_once_and_concurrent_ones_share_flushes() -> None:
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushed.append(items)
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    async def scenario() -> list[int]:
        batcher: GroupBatcher[int, int] = GroupBatcher(flush, max_batch=50)
        assert await batcher.submit(1) == 10
        return await asyncio.gather(*(batcher.submit(i) for i in range(200)))

    results = run(scenario())
    assert results == [i * 10 for i in range(200)]
    assert flushed[0] == [1]
    assert all(len(batch) <= 50 for batch in flushed)
    assert len(flushed) <= 1 + 200 // 50 + 1  # grouped, not one flush per item


def test_a_failed_flush_fails_only_its_own_items() -> None:
    async def flush(items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        if 13 in items:
            raise ValueError("unlucky")
        return items

    async def scenario() -> list[object]:
        batcher: GroupBatcher[int, int] = GroupBatcher(flush, max_batch=1)
        return await asyncio.gather(*(batcher.submit(i) for i in (12, 13, 14)), return_exceptions=True)

    first, second, third = run(scenario())
    assert (first, third) == (12, 14)
    assert isinstance(second, ValueError)


def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    async def flush(items: list[int]) -> list[int]:
        await asyncio.sleep(0.05)
        return items

    async def scenario() -> int:
        batcher: GroupBatcher[int, int] = GroupBatcher(flush)
        impatient = asyncio.create_task(asyncio.wait_for(batcher.submit(1), timeout=0.001))
        patient = asyncio.create_task(batcher.submit(2))
        with pytest.raises(TimeoutError):
            await impatient
        result = await patient
        await batcher.wait_idle()
        return result

    assert run(scenario()) == 2


def test_batches_stay_within_max_batch_and_each_caller_gets_its_own_result() -> None:
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushed.append(items)
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    async def scenario() -> list[int]:
        batcher: GroupBatcher[int, int] = GroupBatcher(flush, max_batch=50)
        return await asyncio.gather(*(batcher.submit(item) for item in range(120)))

    assert run(scenario()) == [item * 10 for item in range(120)]
    assert [item for batch in flushed for item in batch] == list(range(120))  # in arrival order
    assert all(len(batch) <= 50 for batch in flushed)
    assert len(flushed) <= 4  # 120 items: one lone flush, then full ones, not one per item


def test_past_max_pending_waiting_items_submit_refuses_at_once_and_nothing_is_queued() -> None:
    release = asyncio.Event()
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushed.append(items)
        await release.wait()  # a broker that does not answer
        return items

    async def scenario() -> tuple[list[int], int]:
        batcher: GroupBatcher[int, int] = GroupBatcher(flush, max_batch=1, max_pending=3)
        first = asyncio.create_task(batcher.submit(0))
        await asyncio.sleep(0)  # the flush of item 0 is in flight, holding it
        waiting = [asyncio.create_task(batcher.submit(i)) for i in range(1, 4)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded) as refused:
            await batcher.submit(4)
        assert refused.value.retry_after == 1 and "3 queued" in refused.value.message
        release.set()
        results = await asyncio.gather(first, *waiting)
        return results, await batcher.submit(5)  # room again once they were flushed

    results, later = run(scenario())
    assert results == [0, 1, 2, 3] and later == 5
    assert [item for batch in flushed for item in batch] == [0, 1, 2, 3, 5]  # 4 never queued
