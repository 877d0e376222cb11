"""The adaptive in-flight limit: slots, FIFO hand-off, additive increase, halving."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.inflight import AdaptiveLimit


async def _parked(limit: AdaptiveLimit, n: int) -> list[asyncio.Task[int]]:
    """``n`` acquirers that had to wait (the limit was reached)."""
    tasks = [asyncio.ensure_future(limit.acquire()) for _ in range(n)]
    await asyncio.sleep(0)
    return tasks


async def test_at_most_limit_slots_and_waiters_in_call_order() -> None:
    """Two slots: the third and fourth caller wait and are served first come, first served."""
    limit = AdaptiveLimit(initial=2, maximum=2)
    a, b = await limit.acquire(), await limit.acquire()
    third, fourth = await _parked(limit, 2)
    assert (limit.in_flight, limit.waiting) == (2, 2)
    assert not third.done()
    assert not fourth.done()
    limit.release(a)
    await asyncio.sleep(0)
    assert third.done()
    assert not fourth.done()
    limit.release(b)
    await asyncio.sleep(0)
    assert fourth.done()
    assert (limit.in_flight, limit.waiting) == (2, 0)


async def test_a_cancelled_waiter_loses_no_slot() -> None:
    """A waiter cancelled after being handed a slot gives it to the next one."""
    limit = AdaptiveLimit(initial=1, maximum=1)
    token = await limit.acquire()
    first, second = await _parked(limit, 2)
    limit.release(token)  # hands the slot to ``first`` ...
    first.cancel()  # ... which is cancelled before it resumes
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.sleep(0)
    assert second.done()
    assert limit.in_flight == 1
    second_token = second.result()
    limit.release(second_token)
    assert limit.in_flight == 0


async def test_grows_by_one_per_round_only_while_the_limit_holds_callers_back() -> None:
    """Released with every slot used: +1/limit each; released with slots unused: no growth."""
    limit = AdaptiveLimit(initial=4, maximum=10)
    tokens = [await limit.acquire() for _ in range(4)]
    for token in tokens:  # the first release finds all 4 in use: 4 + 1/4
        limit.release(token)
    assert limit.limit == 4
    for _ in range(20):
        limit.release(await limit.acquire())  # one at a time: never full
    assert limit.limit == 4
    for _ in range(8):  # full rounds: each raises by about one slot
        tokens = [await limit.acquire() for _ in range(limit.limit)]
        for token in tokens:
            limit.release(token)
    assert 5 <= limit.limit <= 10


async def test_a_429_halves_once_per_window() -> None:
    """Four refusals of requests started in the same window halve the limit once."""
    limit = AdaptiveLimit(initial=16, maximum=16)
    tokens = [await limit.acquire() for _ in range(4)]
    for token in tokens:
        limit.release(token, overloaded=True)
    assert limit.limit == 8
    token = await limit.acquire()  # started after the decrease: a new window
    limit.release(token, overloaded=True)
    assert limit.limit == 4


async def test_never_below_minimum_nor_above_maximum() -> None:
    """Bounds hold however hard the server pushes back or how long it stays fast."""
    limit = AdaptiveLimit(initial=2, minimum=2, maximum=3)
    for _ in range(5):
        limit.release(await limit.acquire(), overloaded=True)
    assert limit.limit == 2
    for _ in range(50):
        tokens = [await limit.acquire() for _ in range(limit.limit)]
        for token in tokens:
            limit.release(token)
    assert limit.limit == 3


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="minimum <= initial <= maximum"):
        AdaptiveLimit(initial=0)
    with pytest.raises(ValueError, match="backoff"):
        AdaptiveLimit(backoff=1.0)


@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.booleans()),
        max_size=200,
    )
)
def test_slots_are_conserved_whatever_the_answers(steps: list[tuple[bool, bool]]) -> None:
    """Acquire (when a slot is free) or release with either answer: the count of
    slots held is what was acquired minus released, never above the limit at acquire time,
    and the limit stays within its bounds."""

    async def run() -> None:
        limit = AdaptiveLimit(initial=4, minimum=1, maximum=8)
        held: list[int] = []
        for acquire, overloaded in steps:
            if acquire and limit.in_flight < limit.limit:
                held.append(await limit.acquire())
                assert limit.in_flight <= max(limit.limit, len(held))
            elif held:
                limit.release(held.pop(0), overloaded=overloaded)
            assert limit.in_flight == len(held)
            assert 1 <= limit.limit <= 8

    asyncio.run(run())


async def test_a_waiter_cancelled_while_waiting_leaves_no_trace() -> None:
    """Cancelled before a slot came: it leaves the queue, so a later caller finding a free
    slot takes it at once."""
    limit = AdaptiveLimit(initial=1, maximum=1)
    token = await limit.acquire()
    (waiter,) = await _parked(limit, 1)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert limit.waiting == 0
    limit.release(token)
    assert limit.in_flight == 0
    await asyncio.wait_for(limit.acquire(), 1)
    assert limit.in_flight == 1
