"""The work queue: client-go's workqueue contract on asyncio, fair across namespaces.

The queue holds hashable keys (:class:`~syncer.keys.ObjectKey` in practice),
never objects: a worker reads the current state from the cache when it gets
the key.  It is three thin layers in one type:

*Dedupe* — a key is queued at most once, however often it is added, and is
never handed to two workers at once.  Adding a key while a worker holds it
only marks it dirty; :meth:`WorkQueue.done` queues it again, so that add is
never lost.

*Delaying* — :meth:`WorkQueue.add_after` parks a key on a heap until its
deadline on the injected :class:`~syncer.clock.Clock`.  A key waits for at
most one deadline: a later ``add_after`` keeps the earlier one.  One timer
task per queue serves the whole heap; no task is created per key.

*Rate limiting* — :meth:`WorkQueue.add_rate_limited` asks the injected
:class:`~syncer.ratelimit.RateLimiter` how long the key should back off;
:meth:`WorkQueue.forget` must be called when the key succeeds.

Fairness: ready keys are grouped by ``fairness_key(key)`` (by default the key's
``namespace``) and :meth:`WorkQueue.get` serves the groups round-robin, FIFO
within a group.  A key added to a group with no ready keys is handed out
within ``n`` gets, ``n`` being the number of groups with ready keys once it is
added, however many keys the busy groups hold.

Shut-down: after :meth:`WorkQueue.shut_down` adds are ignored and
:meth:`WorkQueue.get` raises :class:`ShutDown`, including in workers already
waiting.  Keys still queued or delayed are dropped, not handed out: the sync is
level-triggered and the next start lists every object again.  ``drain=True``
waits until every key already handed out has been marked done.

Costs: ``add``, ``get`` and ``done`` are O(1) (amortised); ``add_after`` is
O(log n).  All methods must be called from the event loop's thread; the
synchronous ones never yield to the loop, and ``get`` only yields when it has
to wait.  ``fairness_key`` must be cheap and must not raise.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Hashable
from contextlib import suppress
from typing import Generic, Protocol, TypeVar

from syncer.clock import Clock, RealClock
from syncer.ratelimit import RateLimiter, default_controller_limiter

__all__ = ["NoopQueueMetrics", "QueueMetrics", "ShutDown", "WorkQueue", "namespace_of"]

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """Raised by :meth:`WorkQueue.get` once the queue is shut down: the worker should exit."""


class QueueMetrics(Protocol):
    """What the queue reports as it works; one instance per queue (the queue's ``name``).

    Gauges that depend on the time of the scrape are pulled instead: see
    :meth:`WorkQueue.unfinished_work_seconds` and
    :meth:`WorkQueue.longest_running_processor_seconds`.
    """

    def add(self) -> None:
        """A key became dirty (``workqueue_adds_total``)."""

    def depth(self, n: int) -> None:
        """``n`` keys are ready now (``workqueue_depth``)."""

    def queue_latency(self, seconds: float) -> None:
        """A key waited ``seconds`` in the queue before a worker took it."""

    def work_duration(self, seconds: float) -> None:
        """A worker held a key for ``seconds``."""

    def retry(self) -> None:
        """A key was re-added through the rate limiter (``workqueue_retries_total``)."""


class NoopQueueMetrics:
    """Metrics that go nowhere: the default.  The queue skips its calls entirely."""

    __slots__ = ()

    def add(self) -> None: ...
    def depth(self, n: int) -> None: ...
    def queue_latency(self, seconds: float) -> None: ...
    def work_duration(self, seconds: float) -> None: ...
    def retry(self) -> None: ...


def namespace_of(key: object) -> Hashable:
    """The default fairness group: ``key.namespace`` if it is a string, else ``""``."""
    namespace = getattr(key, "namespace", "")
    return namespace if isinstance(namespace, str) else ""


class _FairFifo(Generic[K]):
    """Ready keys with the time they were queued: FIFO per group, groups round-robin."""

    __slots__ = ("_lanes", "_ring", "size")

    def __init__(self) -> None:
        self._lanes: dict[Hashable, deque[tuple[K, float]]] = {}
        # Groups with at least one ready key, in serving order; each appears once.
        self._ring: deque[Hashable] = deque()
        self.size = 0

    def push(self, group: Hashable, key: K, queued_at: float) -> None:
        lane = self._lanes.get(group)
        if lane is None:
            lane = self._lanes[group] = deque()
            self._ring.append(group)
        lane.append((key, queued_at))
        self.size += 1

    def pop(self) -> tuple[K, float]:
        group = self._ring.popleft()
        lane = self._lanes[group]
        entry = lane.popleft()
        if lane:
            self._ring.append(group)
        else:
            del self._lanes[group]
        self.size -= 1
        return entry

    def clear(self) -> None:
        self._lanes.clear()
        self._ring.clear()
        self.size = 0


class _Delays(Generic[K]):
    """Keys waiting for a deadline; at most one live deadline per key, the earliest."""

    __slots__ = ("_deadlines", "_heap", "_seq")

    def __init__(self) -> None:
        # A heap entry is live iff _deadlines[key] equals its deadline; others are skipped.
        self._heap: list[tuple[float, int, K]] = []
        self._deadlines: dict[K, float] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._deadlines)

    def push(self, key: K, deadline: float) -> None:
        current = self._deadlines.get(key)
        if current is not None and current <= deadline:
            return
        self._deadlines[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), key))

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and self._deadlines.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> list[K]:
        due: list[K] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, key = heapq.heappop(heap)
            if self._deadlines.get(key) == deadline:
                del self._deadlines[key]
                due.append(key)
        return due

    def clear(self) -> None:
        self._heap.clear()
        self._deadlines.clear()


class WorkQueue(Generic[K]):
    """A deduplicating, delaying, rate-limited, namespace-fair queue of keys."""

    def __init__(
        self,
        *,
        name: str = "",
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
        metrics: QueueMetrics | None = None,
        fairness_key: Callable[[K], Hashable] = namespace_of,
    ) -> None:
        self._name = name
        self._clock: Clock = clock if clock is not None else RealClock()
        self._limiter: RateLimiter = (
            rate_limiter
            if rate_limiter is not None
            else default_controller_limiter(clock=self._clock)
        )
        # None stands for "no metrics" so the hot path skips the calls altogether.
        self._metrics: QueueMetrics | None = (
            None if metrics is None or isinstance(metrics, NoopQueueMetrics) else metrics
        )
        self._now = self._clock.now
        self._fairness_key = fairness_key
        # Dedupe layer.  Invariant: every key in _ready is in _dirty and not in
        # _processing, and is in _ready once.  add() of a key in _processing only
        # puts it in _dirty; done() moves a dirty key back into _ready.
        self._dirty: set[K] = set()
        self._processing: dict[K, float] = {}  # key -> when a worker got it
        self._ready: _FairFifo[K] = _FairFifo()
        self._getters: deque[asyncio.Future[None]] = deque()  # parked get() calls
        # Delaying layer: one timer task, armed for the earliest deadline.
        self._delays: _Delays[K] = _Delays()
        self._timer: asyncio.Task[None] | None = None
        self._timer_deadline = math.inf
        self._shutting_down = False
        self._drained = asyncio.Event()  # set once shut down with nothing in processing

    @property
    def name(self) -> str:
        """The queue's name: the ``name`` label of its metrics."""
        return self._name

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """How many keys are ready to be handed out."""
        return self._ready.size

    @property
    def depth(self) -> int:
        """Same as ``len(queue)``."""
        return self._ready.size

    @property
    def delayed(self) -> int:
        """How many keys wait for an ``add_after`` deadline."""
        return len(self._delays)

    @property
    def in_flight(self) -> int:
        """How many keys workers hold (got and not yet done)."""
        return len(self._processing)

    def add(self, key: K) -> None:
        """Mark ``key`` as needing work; a no-op if it already does or the queue is shut down."""
        if self._shutting_down or key in self._dirty:
            return
        if self._metrics is not None:
            self._metrics.add()
        self._dirty.add(key)
        if key not in self._processing:
            self._enqueue(key)

    async def get(self) -> K:
        """The next key to work on; the caller owns it until :meth:`done`.

        Raises :class:`ShutDown` once the queue is shut down.
        """
        while not self._ready.size:
            if self._shutting_down:
                raise ShutDown(self._name)
            await self._park()
        key, queued_at = self._ready.pop()
        now = self._now()
        self._dirty.discard(key)
        self._processing[key] = now
        if self._metrics is not None:
            self._metrics.depth(self._ready.size)
            self._metrics.queue_latency(now - queued_at)
        return key

    def done(self, key: K) -> None:
        """Release ``key``; queue it again if it was added meanwhile. Unknown keys are ignored."""
        started = self._processing.pop(key, None)
        if started is None:
            return
        if self._metrics is not None:
            self._metrics.work_duration(self._now() - started)
        if self._shutting_down:
            if not self._processing:
                self._drained.set()
        elif key in self._dirty:
            self._enqueue(key)

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed; an earlier pending deadline wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        self._delays.push(key, self._clock.now() + delay)
        self._arm_timer()

    def add_rate_limited(self, key: K) -> None:
        """Add ``key`` after the rate limiter's delay for it; counts a retry."""
        if self._shutting_down:
            return
        if self._metrics is not None:
            self._metrics.retry()
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff; call it when the key's work succeeded."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """How many rate-limited re-adds ``key`` has had since it was last forgotten."""
        return self._limiter.num_requeues(key)

    async def shut_down(self, *, drain: bool) -> None:
        """Stop handing out keys; with ``drain``, wait until every held key is done."""
        if not self._shutting_down:
            self._shutting_down = True
            self._ready.clear()
            self._dirty.clear()
            self._delays.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._metrics is not None:
                self._metrics.depth(0)
            while self._getters:
                getter = self._getters.popleft()
                if not getter.done():
                    getter.set_result(None)
            if not self._processing:
                self._drained.set()
        if drain:
            await self._drained.wait()

    def unfinished_work_seconds(self) -> float:
        """Seconds of work in progress: the sum of how long each held key has been held."""
        now = self._clock.now()
        return sum(now - started for started in self._processing.values())

    def longest_running_processor_seconds(self) -> float:
        """How long the longest-held key has been held; 0 if none is."""
        if not self._processing:
            return 0.0
        return self._clock.now() - min(self._processing.values())

    def _enqueue(self, key: K) -> None:
        self._ready.push(self._fairness_key(key), key, self._now())
        if self._metrics is not None:
            self._metrics.depth(self._ready.size)
        if self._getters:
            self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    async def _park(self) -> None:
        getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._getters.append(getter)
        try:
            await getter
        except asyncio.CancelledError:
            with suppress(ValueError):
                self._getters.remove(getter)
            if getter.done() and not getter.cancelled():
                self._wake_one()  # we were woken but will not take the key: pass it on
            raise

    def _arm_timer(self) -> None:
        deadline = self._delays.next_deadline()
        if deadline is None or deadline >= self._timer_deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_deadline = deadline
        self._timer = asyncio.get_running_loop().create_task(
            self._fire(deadline), name=f"workqueue {self._name!r} timer"
        )

    async def _fire(self, deadline: float) -> None:
        await self._clock.sleep(deadline - self._clock.now())
        self._timer = None
        self._timer_deadline = math.inf
        for key in self._delays.pop_due(self._clock.now()):
            self.add(key)
        self._arm_timer()
