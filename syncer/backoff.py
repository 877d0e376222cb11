"""Backoff for retrying an API server (watches, lists): exponential, jittered, reset after quiet.

client-go's reflector figures: start at 0.8 s, double up to 30 s, add up to
100 % jitter, and forget the streak after two quiet minutes.  Pure logic on an
injected clock, so tests need no sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from syncer.clock import Clock, RealClock


class Backoff:
    """``next()`` records a failure and returns the delay before the next attempt."""

    def __init__(
        self,
        *,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        clock: Clock | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._initial = initial
        self._cap = cap
        self._factor = factor
        self._jitter = jitter
        self._reset_after = reset_after
        self._clock = clock or RealClock()
        self._rand = rand
        self._current = 0.0
        self._last_failure: float | None = None

    def next(self) -> float:
        """Record a failure and return how long to wait before retrying."""
        now = self._clock.now()
        if self._last_failure is not None and now - self._last_failure >= self._reset_after:
            self._current = 0.0
        self._last_failure = now
        self._current = (
            self._initial if self._current == 0.0 else min(self._cap, self._current * self._factor)
        )
        return self._current * (1.0 + self._jitter * self._rand())
