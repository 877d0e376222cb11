"""An adaptive limit on requests in flight: additive increase, multiplicative decrease.

The host API server protects itself with API Priority and Fairness: when the
queues of a priority level are full it answers 429.  A fixed number of
workers either leaves throughput unused (too few: each waits a round trip) or
piles requests into the server's queues (too many: the backlog waits in the
server's FIFO instead of in the syncer's fair queue).  :class:`AdaptiveLimit`
finds the number instead, the way TCP finds a congestion window (and Netflix's
``concurrency-limits`` AIMD limiter a server's): callers
:meth:`~AdaptiveLimit.acquire` a slot before a request and
:meth:`~AdaptiveLimit.release` it after, saying whether the server pushed back.
Only a 429 counts as push-back, not latency: a threshold on latency collapses
the limit wherever the server is merely slow (a loaded machine, an admission
webhook), where fewer requests in flight would not make it faster.

Guarantees:

* At most :attr:`AdaptiveLimit.limit` slots are held at once; waiters get
  slots in call order.  A waiter cancelled before it resumes gives its slot
  back, so no slot is ever lost.
* Increase: a request that was not refused, released while every
  slot was in use (the limit was what held the caller back), raises the limit
  by ``1 / limit`` — one slot per round of ``limit`` such requests — up to
  ``maximum``.  While slots go unused the limit does not grow.
* Decrease: a 429 (``overloaded``) multiplies the limit by ``backoff``, down
  to ``minimum``, at most once per window: requests that started before a
  decrease cannot cause another one (they saw the old window).
* Pure bookkeeping on the event loop: no task, no timer, no clock.  Nothing
  retries here; a refused request fails as it did before.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["AdaptiveLimit"]


class AdaptiveLimit:
    """AIMD limit on concurrent requests; see the module docstring for the rules."""

    __slots__ = (
        "_backoff",
        "_in_flight",
        "_limit",
        "_maximum",
        "_minimum",
        "_waiters",
        "_window",
    )

    def __init__(
        self,
        *,
        initial: int = 32,
        minimum: int = 1,
        maximum: int = 256,
        backoff: float = 0.5,
    ) -> None:
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError(
                f"need 1 <= minimum <= initial <= maximum, got {minimum}/{initial}/{maximum}"
            )
        if not 0 < backoff < 1:
            raise ValueError(f"backoff must be between 0 and 1 (got {backoff})")
        self._limit = float(initial)
        self._minimum = minimum
        self._maximum = maximum
        self._backoff = backoff
        self._in_flight = 0
        self._window = 0  # bumped at each decrease; a slot remembers the window it began in
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """Slots that may be held at once now."""
        return int(self._limit)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self) -> int:
        """Wait for a slot; returns the token to give back to :meth:`release`."""
        if self._in_flight < self.limit and not self._waiters:
            self._in_flight += 1
            return self._window
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot, then cancelled
                self._in_flight -= 1
            else:
                self._waiters.remove(waiter)
            self._wake()
            raise
        return self._window

    def release(self, token: int, *, overloaded: bool = False) -> None:
        """Give back the slot of ``token``; ``overloaded``: the server answered 429."""
        was_full = self._in_flight >= self.limit or bool(self._waiters)
        self._in_flight -= 1
        if overloaded:
            if token == self._window:
                self._limit = max(float(self._minimum), self._limit * self._backoff)
                self._window += 1
        elif was_full and self._limit < self._maximum:
            self._limit = min(float(self._maximum), self._limit + 1.0 / self._limit)
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            self._in_flight += 1
            waiter.set_result(None)
