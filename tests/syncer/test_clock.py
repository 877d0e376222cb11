"""Tests for syncer.clock."""

from __future__ import annotations

import asyncio

import pytest

from syncer.clock import Clock, FakeClock, RealClock


def test_real_clock_is_monotonic() -> None:
    """RealClock.now never goes backwards."""
    clock = RealClock()
    readings = [clock.now() for _ in range(1000)]
    assert readings == sorted(readings)


async def test_real_clock_sleep_zero_and_negative_return() -> None:
    """RealClock.sleep accepts zero and negative durations."""
    clock = RealClock()
    await clock.sleep(0)
    await clock.sleep(-1)


def test_both_clocks_satisfy_the_protocol() -> None:
    """RealClock and FakeClock are Clocks."""
    clocks: list[Clock] = [RealClock(), FakeClock()]
    assert all(isinstance(clock.now(), float) for clock in clocks)


def test_fake_clock_moves_only_when_advanced() -> None:
    """FakeClock.now starts at `start` and changes only through advance."""
    clock = FakeClock(start=100.0)
    assert clock.now() == 100.0
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5


def test_fake_clock_refuses_to_go_back() -> None:
    """A negative advance is an error."""
    with pytest.raises(ValueError, match="cannot go back"):
        FakeClock().advance(-1)


async def test_fake_sleep_wakes_exactly_at_deadline() -> None:
    """A sleeper wakes when its deadline is reached, not before."""
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5))
    await clock.wait_for_sleepers(1)
    clock.advance(4.999)
    await asyncio.sleep(0)
    assert not task.done()
    assert clock.next_deadline() == 5
    clock.advance(0.001)
    await task
    assert clock.sleepers == 0
    assert clock.next_deadline() is None


async def test_fake_sleepers_wake_in_deadline_order() -> None:
    """One advance past several deadlines wakes all of them, earliest first."""
    clock = FakeClock()
    woken: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append(seconds)

    tasks = [asyncio.create_task(sleeper(s)) for s in (3, 1, 2, 10)]
    await clock.wait_for_sleepers(4)
    clock.advance(3)
    await asyncio.gather(*tasks[:3])
    assert woken == [1, 2, 3]
    assert clock.sleepers == 1
    clock.advance(7)
    await tasks[3]
    assert woken == [1, 2, 3, 10]


async def test_fake_sleep_zero_does_not_park() -> None:
    """sleep(0) returns without waiting for an advance."""
    clock = FakeClock()
    await clock.sleep(0)
    assert clock.sleepers == 0


async def test_cancelled_fake_sleeper_is_forgotten() -> None:
    """Cancelling a sleeper removes it from the count and advance ignores it."""
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(1))
    await clock.wait_for_sleepers(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0
    clock.advance(2)
