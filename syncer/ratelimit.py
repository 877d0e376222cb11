"""Rate limiters: how long an item waits before its next retry, and client-side request pacing.

Two kinds live here, both on an injectable :class:`~syncer.clock.Clock`:

*Per-item limiters* (:class:`RateLimiter`) answer "this key failed again; how
long until it may be retried?".  They compose like client-go's:
``MaxOf(ItemExponential(base=0.005, cap=1000.0), TokenBucket(10, 100))`` is
:func:`default_controller_limiter`: per-key exponential backoff, bounded by an
overall retry rate.  Contract: every :meth:`RateLimiter.when` is counted as a
requeue until :meth:`RateLimiter.forget` is called for that item; callers must
call ``forget`` once the item succeeds, or its backoff keeps growing.

*Request throttling* (:class:`Throttle`) paces outgoing API requests: each
:meth:`Throttle.acquire` waits until a token is available.  ``qps <= 0`` means
unlimited.

Token buckets reserve: a request that finds the bucket empty takes a token
"on credit" and is told how long to wait for it, so concurrent callers are
served in order and the long-run rate never exceeds ``qps``.  Nothing here
starts a task or holds a lock; all state is plain data mutated synchronously.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Hashable
from typing import Protocol

from syncer.clock import Clock, RealClock

__all__ = [
    "ItemExponential",
    "MaxOf",
    "RateLimiter",
    "Throttle",
    "TokenBucket",
    "default_controller_limiter",
]


class RateLimiter(Protocol):
    """Decides per-item retry delays; see the module docstring for the contract."""

    def when(self, item: Hashable) -> float:
        """Seconds ``item`` should wait before its next retry; counts one requeue."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking ``item``: its next failure starts from scratch."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many times :meth:`when` was called for ``item`` since it was forgotten."""
        ...


class ItemExponential:
    """Per-item exponential backoff: ``base * 2**failures``, capped at ``cap`` seconds."""

    __slots__ = ("_base", "_cap", "_failures")

    def __init__(self, *, base: float = 0.005, cap: float = 1000.0) -> None:
        if base < 0 or cap < 0:
            raise ValueError(f"base and cap must not be negative (base={base}, cap={cap})")
        self._base = base
        self._cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        # 2.0 ** 1023 is the largest finite power; beyond it the cap applies anyway.
        return min(self._cap, self._base * 2.0 ** min(failures, 1023))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class _Bucket:
    """A reserving token bucket: ``burst`` tokens, refilled at ``qps`` per second."""

    __slots__ = ("_burst", "_clock", "_last", "_qps", "_tokens")

    def __init__(self, *, qps: float, burst: int, clock: Clock) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be positive (got {qps})")
        if burst < 1:
            raise ValueError(f"burst must be at least 1 (got {burst})")
        self._qps = qps
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.now()

    def reserve(self) -> float:
        """Take one token, possibly on credit; return the seconds until it is really ours."""
        if math.isinf(self._qps):
            return 0.0
        now = self._clock.now()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._qps) - 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._qps

    def give_back(self) -> None:
        """Return a token whose reservation was abandoned before it was used."""
        self._tokens = min(self._burst, self._tokens + 1.0)


class TokenBucket:
    """An overall retry rate used as a per-item limiter: items share one bucket.

    :meth:`when` reserves a token and returns the wait until it is available;
    it does not track items, so :meth:`forget` does nothing and
    :meth:`num_requeues` is always 0.
    """

    __slots__ = ("_bucket",)

    def __init__(self, qps: float, burst: int, *, clock: Clock | None = None) -> None:
        self._bucket = _Bucket(
            qps=qps, burst=burst, clock=clock if clock is not None else RealClock()
        )

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOf:
    """The longest delay any of ``limiters`` asks for; all of them see every call."""

    __slots__ = ("_limiters",)

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        # Every limiter must record the failure, so no short-circuit max().
        delays = [limiter.when(item) for limiter in self._limiters]
        return max(delays)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


def default_controller_limiter(*, clock: Clock | None = None) -> MaxOf:
    """client-go's default: per-item 5 ms → 1000 s backoff, at most 10 retries/s (burst 100)."""
    return MaxOf(
        ItemExponential(base=0.005, cap=1000.0),
        TokenBucket(10.0, 100, clock=clock),
    )


class Throttle:
    """Client-side request pacing: :meth:`acquire` waits for a token.

    ``qps <= 0`` disables throttling.  Waiters are served in call order because
    each call reserves its token before it sleeps; a waiter cancelled while
    sleeping gives its token back.
    """

    __slots__ = ("_bucket", "_clock")

    def __init__(self, qps: float, burst: int, *, clock: Clock | None = None) -> None:
        self._clock = clock if clock is not None else RealClock()
        self._bucket = _Bucket(qps=qps, burst=max(1, burst), clock=self._clock) if qps > 0 else None

    @property
    def unlimited(self) -> bool:
        """True when ``qps <= 0`` was given: :meth:`acquire` never waits."""
        return self._bucket is None

    async def acquire(self) -> None:
        """Wait until one request may be sent."""
        if self._bucket is None:
            return
        delay = self._bucket.reserve()
        if delay <= 0:
            return
        try:
            await self._clock.sleep(delay)
        except asyncio.CancelledError:
            self._bucket.give_back()
            raise
