"""Watch/list backoff: exponential, capped, jittered, reset after a quiet period."""

from __future__ import annotations

from syncer.backoff import Backoff
from syncer.clock import FakeClock


def test_doubles_to_the_cap_without_jitter() -> None:
    """0.8 s doubles per failure and stops at 30 s."""
    backoff = Backoff(clock=FakeClock(), jitter=0.0)
    delays = [backoff.next() for _ in range(8)]
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]


def test_jitter_adds_up_to_the_factor() -> None:
    """Jitter 1.0 with the maximal random draw doubles the delay."""
    backoff = Backoff(clock=FakeClock(), rand=lambda: 1.0)
    assert backoff.next() == 1.6


def test_resets_after_quiet_period() -> None:
    """A failure after two quiet minutes starts the streak over."""
    clock = FakeClock()
    backoff = Backoff(clock=clock, jitter=0.0)
    for _ in range(5):
        backoff.next()
    clock.advance(119.0)
    assert backoff.next() == 25.6
    clock.advance(120.0)
    assert backoff.next() == 0.8
