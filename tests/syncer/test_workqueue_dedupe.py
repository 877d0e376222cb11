"""Tests for syncer.workqueue deduplication: dirty and processing keys, waiting getters."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.keys import ObjectKey
from syncer.workqueue import ShutDown
from tests.syncer.workqueue_support import key, make_queue, settle

# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)


async def test_add_dedupes_queued_keys() -> None:
    """A key added twice before it is taken is queued once."""
    queue = make_queue()
    queue.add(key("a", "1"))
    queue.add(key("a", "2"))
    queue.add(key("a", "1"))
    assert len(queue) == queue.depth == 2
    assert await queue.get() == key("a", "1")
    assert await queue.get() == key("a", "2")
    assert len(queue) == 0


async def test_add_during_processing_is_requeued_on_done() -> None:
    """An add while a worker holds the key waits for done, then queues it again."""
    queue = make_queue()
    queue.add(key("a", "1"))
    held = await queue.get()
    queue.add(held)
    queue.add(held)
    assert len(queue) == 0
    queue.done(held)
    assert len(queue) == 1
    assert await queue.get() == held
    queue.done(held)
    assert len(queue) == 0
    assert queue.in_flight == 0


async def test_done_without_add_does_not_requeue() -> None:
    """done on a clean key releases it for good; done on an unknown key is ignored."""
    queue = make_queue()
    queue.add(key("a", "1"))
    queue.done(await queue.get())
    queue.done(key("a", "unknown"))
    assert len(queue) == 0
    assert queue.in_flight == 0


async def test_get_waits_for_an_add() -> None:
    """A parked get returns as soon as a key is added."""
    queue = make_queue()
    getter = asyncio.create_task(queue.get())
    await settle()
    assert not getter.done()
    queue.add(key("a", "1"))
    assert await getter == key("a", "1")


async def test_cancelled_getter_passes_its_wakeup_on() -> None:
    """If the woken getter is cancelled before it runs, another parked getter gets the key."""
    queue = make_queue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await settle()
    queue.add(key("a", "1"))
    first.cancel()
    await settle()
    assert second.done()
    assert second.result() == key("a", "1")
    with pytest.raises(asyncio.CancelledError):
        await first


@settings(max_examples=60, deadline=None)
@given(
    workers=st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=8), min_size=2, max_size=5),
    adds=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=60),
)
async def test_random_interleavings_never_share_a_key_nor_lose_an_add(
    workers: list[list[int]], adds: list[tuple[int, int]]
) -> None:
    """Under random interleavings no key is held twice and every add is followed by a get."""
    queue = make_queue()
    held: set[ObjectKey] = set()
    tick = 0
    last_add: dict[ObjectKey, int] = {}
    last_get: dict[ObjectKey, int] = {}

    async def worker(pauses: list[int]) -> None:
        nonlocal tick
        for turn in range(10**9):
            try:
                got = await queue.get()
            except ShutDown:
                return
            assert got not in held, f"{got} handed to two workers"
            held.add(got)
            tick += 1
            last_get[got] = tick
            for _ in range(pauses[turn % len(pauses)]):
                await asyncio.sleep(0)
            held.remove(got)
            queue.done(got)

    async def producer() -> None:
        nonlocal tick
        for name, pause in adds:
            added = key("ns", str(name))
            tick += 1
            last_add[added] = tick
            queue.add(added)
            for _ in range(pause):
                await asyncio.sleep(0)

    tasks = [asyncio.create_task(worker(pauses)) for pauses in workers]
    await producer()
    for _ in range(10_000):
        if not len(queue) and not queue.in_flight:
            break
        await asyncio.sleep(0)
    assert not len(queue)
    assert not queue.in_flight
    await queue.shut_down(drain=True)
    await asyncio.gather(*tasks)
    for added, when in last_add.items():
        assert last_get[added] > when, f"add of {added} was lost"
