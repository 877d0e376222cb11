"""Tests for syncer.ratelimit."""

from __future__ import annotations

import asyncio

import pytest

from syncer.clock import FakeClock
from syncer.ratelimit import (
    ItemExponential,
    MaxOf,
    Throttle,
    TokenBucket,
    default_controller_limiter,
)


def test_item_exponential_doubles_per_failure() -> None:
    """Each failure of an item doubles its delay, starting at base."""
    limiter = ItemExponential(base=0.005, cap=1000.0)
    assert [limiter.when("a") for _ in range(5)] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert limiter.num_requeues("a") == 5


def test_item_exponential_tracks_items_separately() -> None:
    """One item's failures do not lengthen another's delay."""
    limiter = ItemExponential(base=1.0, cap=100.0)
    limiter.when("a")
    limiter.when("a")
    assert limiter.when("b") == 1.0
    assert limiter.num_requeues("a") == 2
    assert limiter.num_requeues("b") == 1


def test_item_exponential_caps_and_never_overflows() -> None:
    """Delays stop at cap, even after thousands of failures."""
    limiter = ItemExponential(base=0.005, cap=1000.0)
    delays = [limiter.when("a") for _ in range(5000)]
    assert max(delays) == 1000.0
    assert delays[-1] == 1000.0
    assert delays[17] < 1000.0 <= delays[18]


def test_item_exponential_forget_resets() -> None:
    """forget starts the item's backoff from scratch."""
    limiter = ItemExponential(base=1.0, cap=100.0)
    for _ in range(4):
        limiter.when("a")
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1.0


def test_item_exponential_rejects_negative_settings() -> None:
    """Negative base or cap is an error."""
    with pytest.raises(ValueError, match="negative"):
        ItemExponential(base=-1.0)


def test_token_bucket_burst_then_qps_spacing() -> None:
    """The first `burst` items pass at once; later ones are spaced 1/qps apart."""
    clock = FakeClock()
    bucket = TokenBucket(10.0, 3, clock=clock)
    delays = [bucket.when(i) for i in range(6)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3:] == pytest.approx([0.1, 0.2, 0.3])


def test_token_bucket_refills_over_time_up_to_burst() -> None:
    """Tokens refill at qps while idle, but never beyond burst."""
    clock = FakeClock()
    bucket = TokenBucket(2.0, 2, clock=clock)
    assert [bucket.when("x") for _ in range(2)] == [0.0, 0.0]
    clock.advance(0.5)
    assert bucket.when("x") == 0.0
    assert bucket.when("x") == pytest.approx(0.5)
    clock.advance(100)
    assert [bucket.when("x") for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])


def test_token_bucket_does_not_track_items() -> None:
    """A token bucket has no per-item state."""
    bucket = TokenBucket(1.0, 1, clock=FakeClock())
    bucket.when("a")
    bucket.forget("a")
    assert bucket.num_requeues("a") == 0


def test_token_bucket_rejects_bad_settings() -> None:
    """qps must be positive and burst at least 1."""
    with pytest.raises(ValueError, match="qps"):
        TokenBucket(0.0, 1)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1.0, 0)


def test_max_of_takes_the_longest_delay_and_feeds_all() -> None:
    """MaxOf returns the largest delay, records in every limiter, and forgets in all."""
    clock = FakeClock()
    slow = ItemExponential(base=1.0, cap=60.0)
    fast = ItemExponential(base=0.5, cap=60.0)
    bucket = TokenBucket(1.0, 2, clock=clock)
    limiter = MaxOf(fast, slow, bucket)
    assert [limiter.when("a") for _ in range(3)] == [1.0, 2.0, 4.0]
    assert fast.num_requeues("a") == slow.num_requeues("a") == 3
    assert limiter.num_requeues("a") == 3
    limiter.forget("a")
    assert fast.num_requeues("a") == slow.num_requeues("a") == 0
    # The bucket is now 1 token in debt: even a fresh item waits for it.
    assert limiter.when("b") == pytest.approx(2.0)


def test_max_of_needs_a_limiter() -> None:
    """MaxOf() with nothing to combine is an error."""
    with pytest.raises(ValueError, match="at least one"):
        MaxOf()


def test_default_controller_limiter() -> None:
    """The default is 5 ms doubling per item, with 100 free retries then 10 per second."""
    clock = FakeClock()
    limiter = default_controller_limiter(clock=clock)
    assert [limiter.when("a") for _ in range(3)] == [0.005, 0.01, 0.02]
    for i in range(97):
        assert limiter.when(("other", i)) == 0.005
    assert limiter.when("late") == pytest.approx(0.1)
    assert limiter.num_requeues("a") == 3


async def test_throttle_unlimited_never_waits() -> None:
    """qps <= 0 disables throttling."""
    clock = FakeClock()
    throttle = Throttle(0, 1, clock=clock)
    assert throttle.unlimited
    for _ in range(1000):
        await throttle.acquire()
    assert clock.sleepers == 0


async def test_throttle_paces_after_burst() -> None:
    """Acquires beyond the burst wait 1/qps each, in call order."""
    clock = FakeClock()
    throttle = Throttle(4.0, 2, clock=clock)
    await throttle.acquire()
    await throttle.acquire()
    finished: list[int] = []

    async def acquire(i: int) -> None:
        await throttle.acquire()
        finished.append(i)

    tasks = [asyncio.create_task(acquire(i)) for i in range(3)]
    await clock.wait_for_sleepers(3)
    clock.advance(0.25)
    await tasks[0]
    await asyncio.sleep(0)
    assert finished == [0]
    clock.advance(0.5)
    await asyncio.gather(*tasks)
    assert finished == [0, 1, 2]


async def test_throttle_cancelled_waiter_gives_its_token_back() -> None:
    """A cancelled acquire returns its reservation, so the next caller waits less."""
    clock = FakeClock()
    throttle = Throttle(1.0, 1, clock=clock)
    await throttle.acquire()
    first = asyncio.create_task(throttle.acquire())
    await clock.wait_for_sleepers(1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    second = asyncio.create_task(throttle.acquire())
    await clock.wait_for_sleepers(1)
    assert clock.next_deadline() == pytest.approx(1.0)
    clock.advance(1.0)
    await second
