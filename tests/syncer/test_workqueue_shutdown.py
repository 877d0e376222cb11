"""Tests for syncer.workqueue shut-down, with and without draining in-flight keys."""

from __future__ import annotations

import asyncio

import pytest

from syncer.clock import FakeClock
from syncer.workqueue import ShutDown
from tests.syncer.workqueue_support import key, make_queue, settle

# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)


async def test_shut_down_with_drain_waits_for_in_flight_keys() -> None:
    """shut_down(drain=True) returns only after every held key is done."""
    queue = make_queue()
    queue.add(key("a", "1"))
    queue.add(key("a", "2"))
    held = await queue.get()
    stopping = asyncio.create_task(queue.shut_down(drain=True))
    await settle()
    assert queue.shutting_down
    assert not stopping.done()
    with pytest.raises(ShutDown):
        await queue.get()
    queue.add(key("a", "3"))
    assert len(queue) == 0
    queue.done(held)
    await stopping


async def test_shut_down_without_drain_returns_at_once() -> None:
    """shut_down(drain=False) wakes parked getters with ShutDown and ignores later adds."""
    clock = FakeClock()
    queue = make_queue(clock)
    queue.add(key("a", "1"))
    await queue.get()
    queue.add_after(key("a", "2"), 5)
    parked = asyncio.create_task(queue.get())
    await settle()
    await queue.shut_down(drain=False)
    with pytest.raises(ShutDown):
        await parked
    queue.add(key("a", "3"))
    queue.add_after(key("a", "4"), 1)
    queue.add_rate_limited(key("a", "5"))
    assert (len(queue), queue.delayed, queue.in_flight) == (0, 0, 1)
    await settle()
    assert clock.sleepers == 0
    await queue.shut_down(drain=False)
