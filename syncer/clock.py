"""Clocks: the one place the machinery asks what time it is, or waits.

Rate limiters, the work queue's delaying layer and anything else that reasons
about time take a :class:`Clock` instead of calling :func:`time.monotonic` or
:func:`asyncio.sleep` directly, so tests can drive time by hand.

Guarantees:

* :meth:`Clock.now` is monotonic seconds: it never goes backwards and has no
  relation to wall-clock time.
* :meth:`Clock.sleep` waits about ``seconds``; a non-positive duration still
  yields to the event loop once.  :class:`FakeClock` returns no earlier than
  ``now() + seconds``; :class:`RealClock` is :func:`asyncio.sleep`, so it is
  as exact as the event loop's timers (uvloop's tick is a millisecond).
* :class:`FakeClock` only moves when :meth:`FakeClock.advance` is called.  An
  advance wakes, in deadline order, every sleeper whose deadline has been
  reached, and nothing else; it never consults the real time, so tests built on
  it are deterministic and fast.  Cancelled sleepers are never woken and do
  not count in :attr:`FakeClock.sleepers`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RealClock"]


class Clock(Protocol):
    """Monotonic time and sleeping, injectable for tests."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until ``now()`` has advanced by at least ``seconds``."""
        ...


class RealClock:
    """The event loop's idea of time: :func:`time.monotonic` and :func:`asyncio.sleep`."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to; for tests and benchmarks.

    Sleepers park on a future in a heap ordered by deadline (ties by arrival).
    :meth:`advance` resolves the futures that are due; the woken coroutines run
    the next time the event loop gets control, i.e. at the test's next ``await``.
    """

    __slots__ = ("_now", "_seq", "_sleepers", "_watchers")

    def __init__(self, *, start: float = 0.0) -> None:
        self._now = start
        self._seq = itertools.count()
        # (deadline, arrival, future); futures cancelled by their sleeper stay
        # in the heap until popped and are then skipped.
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        # Futures of wait_for_sleepers() callers, resolved whenever a sleeper parks.
        self._watchers: list[asyncio.Future[None]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), future))
        self._notify_watchers()
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake every sleeper now due."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    @property
    def sleepers(self) -> int:
        """How many coroutines are parked in :meth:`sleep` right now."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def next_deadline(self) -> float | None:
        """The earliest deadline of a parked sleeper, or ``None`` if nobody sleeps."""
        pending = [deadline for deadline, _, future in self._sleepers if not future.done()]
        return min(pending, default=None)

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once at least ``count`` coroutines are parked in :meth:`sleep`.

        Lets a test know that the code under test has reached its timer before
        it advances the clock, without polling or real sleeps.
        """
        while self.sleepers < count:
            watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._watchers.append(watcher)
            await watcher

    def _notify_watchers(self) -> None:
        watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            if not watcher.done():
                watcher.set_result(None)
