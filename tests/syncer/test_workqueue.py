"""Tests for syncer.workqueue."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.clock import FakeClock
from syncer.keys import ObjectKey
from syncer.ratelimit import ItemExponential
from syncer.workqueue import NoopQueueMetrics, QueueMetrics, ShutDown, WorkQueue, namespace_of


def key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey("ConfigMap", namespace, name)


def make_queue(clock: FakeClock | None = None) -> WorkQueue[ObjectKey]:
    return WorkQueue(
        name="test",
        clock=clock or FakeClock(),
        rate_limiter=ItemExponential(base=1.0, cap=60.0),
    )


# A safety net only: a broken queue should fail the test, not hang the run.
pytestmark = pytest.mark.timeout(30)


async def settle() -> None:
    """Let every ready callback run; the loop has no real timers here, so this is exact."""
    for _ in range(5):
        await asyncio.sleep(0)


async def take(queue: WorkQueue[ObjectKey]) -> ObjectKey:
    """get() a key that must already be ready (after due timers have run)."""
    await settle()
    assert len(queue), "no key is ready"
    return await queue.get()


class RecordingMetrics:
    def __init__(self) -> None:
        self.adds = 0
        self.retries = 0
        self.depths: list[int] = []
        self.latencies: list[float] = []
        self.durations: list[float] = []

    def add(self) -> None:
        self.adds += 1

    def depth(self, n: int) -> None:
        self.depths.append(n)

    def queue_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def work_duration(self, seconds: float) -> None:
        self.durations.append(seconds)

    def retry(self) -> None:
        self.retries += 1


async def test_add_dedupes_queued_keys() -> None:
    """A key added twice before it is taken is queued once."""
    queue = make_queue()
    queue.add(key("a", "1"))
    queue.add(key("a", "2"))
    queue.add(key("a", "1"))
    assert len(queue) == queue.depth == 2
    assert await queue.get() == key("a", "1")
    assert await queue.get() == key("a", "2")
    assert len(queue) == 0


async def test_add_during_processing_is_requeued_on_done() -> None:
    """An add while a worker holds the key waits for done, then queues it again."""
    queue = make_queue()
    queue.add(key("a", "1"))
    held = await queue.get()
    queue.add(held)
    queue.add(held)
    assert len(queue) == 0
    queue.done(held)
    assert len(queue) == 1
    assert await queue.get() == held
    queue.done(held)
    assert len(queue) == 0
    assert queue.in_flight == 0


async def test_done_without_add_does_not_requeue() -> None:
    """done on a clean key releases it for good; done on an unknown key is ignored."""
    queue = make_queue()
    queue.add(key("a", "1"))
    queue.done(await queue.get())
    queue.done(key("a", "unknown"))
    assert len(queue) == 0
    assert queue.in_flight == 0


async def test_get_waits_for_an_add() -> None:
    """A parked get returns as soon as a key is added."""
    queue = make_queue()
    getter = asyncio.create_task(queue.get())
    await settle()
    assert not getter.done()
    queue.add(key("a", "1"))
    assert await getter == key("a", "1")


async def test_cancelled_getter_passes_its_wakeup_on() -> None:
    """If the woken getter is cancelled before it runs, another parked getter gets the key."""
    queue = make_queue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await settle()
    queue.add(key("a", "1"))
    first.cancel()
    await settle()
    assert second.done()
    assert second.result() == key("a", "1")
    with pytest.raises(asyncio.CancelledError):
        await first


@settings(max_examples=60, deadline=None)
@given(
    workers=st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=8), min_size=2, max_size=5),
    adds=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=60),
)
async def test_random_interleavings_never_share_a_key_nor_lose_an_add(
    workers: list[list[int]], adds: list[tuple[int, int]]
) -> None:
    """Under random interleavings no key is held twice and every add is followed by a get."""
    queue = make_queue()
    held: set[ObjectKey] = set()
    tick = 0
    last_add: dict[ObjectKey, int] = {}
    last_get: dict[ObjectKey, int] = {}

    async def worker(pauses: list[int]) -> None:
        nonlocal tick
        for turn in range(10**9):
            try:
                got = await queue.get()
            except ShutDown:
                return
            assert got not in held, f"{got} handed to two workers"
            held.add(got)
            tick += 1
            last_get[got] = tick
            for _ in range(pauses[turn % len(pauses)]):
                await asyncio.sleep(0)
            held.remove(got)
            queue.done(got)

    async def producer() -> None:
        nonlocal tick
        for name, pause in adds:
            added = key("ns", str(name))
            tick += 1
            last_add[added] = tick
            queue.add(added)
            for _ in range(pause):
                await asyncio.sleep(0)

    tasks = [asyncio.create_task(worker(pauses)) for pauses in workers]
    await producer()
    for _ in range(10_000):
        if not len(queue) and not queue.in_flight:
            break
        await asyncio.sleep(0)
    assert not len(queue)
    assert not queue.in_flight
    await queue.shut_down(drain=True)
    await asyncio.gather(*tasks)
    for added, when in last_add.items():
        assert last_get[added] > when, f"add of {added} was lost"


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


async def test_busy_namespace_cannot_starve_a_quiet_one() -> None:
    """With 1000 keys of namespace A queued, B's single key is served within 2 gets."""
    queue = make_queue()
    for i in range(1000):
        queue.add(key("a", str(i)))
    queue.add(key("b", "only"))
    served = [await queue.get() for _ in range(2)]
    assert key("b", "only") in served


async def test_round_robin_over_many_namespaces_is_fifo_within_each() -> None:
    """get cycles through namespaces with ready keys, FIFO inside each namespace."""
    queue = make_queue()
    for i in range(3):
        for namespace in ("x", "y", "z"):
            queue.add(key(namespace, str(i)))
    served = [await queue.get() for _ in range(9)]
    assert [k.namespace for k in served] == ["x", "y", "z"] * 3
    for namespace in ("x", "y", "z"):
        assert [k.name for k in served if k.namespace == namespace] == ["0", "1", "2"]


@settings(max_examples=50, deadline=None)
@given(busy=st.lists(st.integers(1, 50), min_size=1, max_size=8), served_first=st.integers(0, 40))
async def test_quiet_key_is_served_within_active_namespace_count(
    busy: list[int], served_first: int
) -> None:
    """A new namespace's key is served within (#namespaces with ready keys) gets."""
    queue = make_queue()
    added = [key(f"busy-{index}", str(i)) for index, count in enumerate(busy) for i in range(count)]
    for item in added:
        queue.add(item)
    served: set[ObjectKey] = set()
    for _ in range(min(served_first, len(queue))):
        item = await queue.get()
        served.add(item)
        queue.done(item)
    active = len({item.namespace for item in added if item not in served}) + 1
    queue.add(key("quiet", "1"))
    for _ in range(active):
        if await queue.get() == key("quiet", "1"):
            break
    else:
        pytest.fail(f"quiet key not served within {active} gets")


async def test_custom_fairness_key() -> None:
    """fairness_key can group keys by something other than the namespace."""
    queue: WorkQueue[str] = WorkQueue(clock=FakeClock(), fairness_key=lambda k: k[0])
    for name in ("a1", "a2", "a3", "b1"):
        queue.add(name)
    assert [await queue.get() for _ in range(4)] == ["a1", "b1", "a2", "a3"]


def test_default_fairness_key() -> None:
    """The default group is the key's namespace, or "" for keys without one."""
    assert namespace_of(key("ns", "n")) == "ns"
    assert namespace_of("plain") == ""
    assert namespace_of(42) == ""


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


async def test_metrics_are_reported() -> None:
    """Adds, depth, latency, work duration, retries and in-flight gauges are reported."""
    clock = FakeClock()
    metrics = RecordingMetrics()
    recorded: QueueMetrics = metrics
    queue: WorkQueue[ObjectKey] = WorkQueue(
        name="pods", clock=clock, metrics=recorded, rate_limiter=ItemExponential(base=1.0)
    )
    assert queue.name == "pods"
    queue.add(key("a", "1"))
    queue.add(key("a", "1"))
    queue.add(key("a", "2"))
    clock.advance(2)
    first = await queue.get()
    clock.advance(1)
    await queue.get()
    assert queue.unfinished_work_seconds() == 1.0
    assert queue.longest_running_processor_seconds() == 1.0
    clock.advance(3)
    queue.done(first)
    queue.add_rate_limited(first)
    assert metrics.adds == 2
    assert metrics.retries == 1
    assert metrics.depths == [1, 2, 1, 0]
    assert metrics.latencies == [2.0, 3.0]
    assert metrics.durations == [4.0]
    assert queue.unfinished_work_seconds() == 3.0
    await queue.shut_down(drain=False)


def test_noop_metrics_accept_everything() -> None:
    """NoopQueueMetrics implements the protocol and does nothing."""
    metrics: QueueMetrics = NoopQueueMetrics()
    metrics.add()
    metrics.depth(3)
    metrics.queue_latency(1.0)
    metrics.work_duration(1.0)
    metrics.retry()


NAMES = st.sampled_from([key(ns, n) for ns in ("a", "b", "c") for n in ("1", "2", "3")])
OPS = st.one_of(
    st.tuples(st.just("add"), NAMES),
    st.tuples(st.just("get"), st.none()),
    st.tuples(st.just("done"), st.integers(0, 8)),
    st.tuples(st.just("add_after"), st.tuples(NAMES, st.sampled_from([0.0, 1.0, 2.5, 4.0]))),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0, 3.0])),
    st.tuples(st.just("retry"), NAMES),
    st.tuples(st.just("forget"), NAMES),
)


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(OPS, max_size=60))
async def test_random_operations_match_a_simple_model(ops: list[tuple[str, object]]) -> None:
    """Random op sequences leave the queue in the state a set-based model predicts."""
    clock = FakeClock()
    queue = make_queue(clock)
    ready: set[ObjectKey] = set()
    dirty: set[ObjectKey] = set()
    processing: list[ObjectKey] = []
    delayed: dict[ObjectKey, float] = {}
    requeues: dict[ObjectKey, int] = {}

    def model_add(item: ObjectKey) -> None:
        if item not in dirty:
            dirty.add(item)
            if item not in processing:
                ready.add(item)

    def model_add_after(item: ObjectKey, delay: float) -> None:
        if delay <= 0:
            model_add(item)
        else:
            delayed[item] = min(delayed.get(item, float("inf")), clock.now() + delay)

    for op, arg in ops:
        if op == "add":
            assert isinstance(arg, ObjectKey)
            queue.add(arg)
            model_add(arg)
        elif op == "get" and ready:
            got = await queue.get()
            assert got in ready
            ready.remove(got)
            dirty.remove(got)
            processing.append(got)
        elif op == "done" and processing:
            assert isinstance(arg, int)
            item = processing.pop(arg % len(processing))
            queue.done(item)
            if item in dirty:
                ready.add(item)
        elif op == "add_after":
            assert isinstance(arg, tuple)
            queue.add_after(arg[0], arg[1])
            model_add_after(arg[0], arg[1])
        elif op == "advance":
            assert isinstance(arg, float)
            clock.advance(arg)
            await settle()
            for item, deadline in list(delayed.items()):
                if deadline <= clock.now():
                    del delayed[item]
                    model_add(item)
        elif op == "retry":
            assert isinstance(arg, ObjectKey)
            queue.add_rate_limited(arg)
            model_add_after(arg, 2.0 ** requeues.get(arg, 0))
            requeues[arg] = requeues.get(arg, 0) + 1
        elif op == "forget":
            assert isinstance(arg, ObjectKey)
            queue.forget(arg)
            requeues.pop(arg, None)
        assert len(queue) == len(ready)
        assert queue.in_flight == len(processing)
        assert queue.delayed == len(delayed)
        for item in requeues:
            assert queue.num_requeues(item) == requeues[item]
    await queue.shut_down(drain=False)
