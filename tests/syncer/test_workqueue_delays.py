"""Tests for syncer.workqueue delays: add_after deadlines and rate-limited requeues."""

from __future__ import annotations

import pytest

from syncer.clock import FakeClock
from tests.syncer.workqueue_support import key, make_queue, settle, take

# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)


async def test_add_after_serves_keys_in_deadline_order() -> None:
    """Delayed keys become ready at their deadlines on the clock, earliest first."""
    clock = FakeClock()
    queue = make_queue(clock)
    queue.add_after(key("a", "slow"), 5)
    queue.add_after(key("a", "fast"), 1)
    queue.add_after(key("a", "mid"), 3)
    assert queue.delayed == 3
    await clock.wait_for_sleepers(1)
    assert len(queue) == 0
    clock.advance(1)
    assert await take(queue) == key("a", "fast")
    clock.advance(1.5)
    await settle()
    assert len(queue) == 0
    clock.advance(0.5)
    assert await take(queue) == key("a", "mid")
    clock.advance(10)
    assert await take(queue) == key("a", "slow")
    assert queue.delayed == 0


@pytest.mark.parametrize(("first", "second"), [(1, 5), (5, 1)])
async def test_add_after_keeps_the_earlier_deadline(first: float, second: float) -> None:
    """Two add_after calls for one key leave it waiting for the earlier deadline only."""
    clock = FakeClock()
    queue = make_queue(clock)
    queue.add_after(key("a", "1"), first)
    queue.add_after(key("a", "1"), second)
    assert queue.delayed == 1
    clock.advance(1)
    assert await take(queue) == key("a", "1")
    queue.done(key("a", "1"))
    clock.advance(10)
    await settle()
    assert len(queue) == 0
    assert clock.sleepers == 0


async def test_add_after_without_delay_adds_now() -> None:
    """A non-positive delay is a plain add."""
    queue = make_queue()
    queue.add_after(key("a", "1"), 0)
    queue.add_after(key("a", "2"), -3)
    assert len(queue) == 2
    assert queue.delayed == 0


async def test_rate_limited_requeue_backs_off_until_forgotten() -> None:
    """add_rate_limited waits the limiter's growing delay; forget resets it."""
    clock = FakeClock()
    queue = make_queue(clock)
    item = key("a", "1")
    for expected_delay in (1.0, 2.0, 4.0):
        queue.add_rate_limited(item)
        await clock.wait_for_sleepers(1)
        assert clock.next_deadline() == clock.now() + expected_delay
        clock.advance(expected_delay)
        assert await take(queue) == item
        queue.done(item)
    assert queue.num_requeues(item) == 3
    queue.forget(item)
    assert queue.num_requeues(item) == 0
    queue.add_rate_limited(item)
    await clock.wait_for_sleepers(1)
    assert clock.next_deadline() == clock.now() + 1.0
