"""The controller: workers, guarded reconciles, retry policy applied to the queue."""

from __future__ import annotations

import asyncio
from collections import Counter

from syncer.clock import FakeClock
from syncer.controller import Controller
from syncer.errors import Conflict, TerminalError
from syncer.keys import ObjectKey
from syncer.ratelimit import ItemExponential
from syncer.reconcile import Result
from syncer.workqueue import WorkQueue


class Metrics:
    def __init__(self) -> None:
        self.results: Counter[str] = Counter()

    def reconcile(self, *, kind: str, result: str, seconds: float) -> None:
        self.results[result] += 1


class Script:
    """A reconciler that behaves per key as scripted and records concurrency."""

    def __init__(self, behaviour: dict[str, list[object]]) -> None:
        self.behaviour = behaviour
        self.calls: Counter[str] = Counter()
        self.active: set[ObjectKey] = set()
        self.overlap = False
        self.finished = asyncio.Event()
        self.expected = 0

    async def reconcile(self, key: ObjectKey) -> Result:
        if key in self.active:
            self.overlap = True
        self.active.add(key)
        try:
            await asyncio.sleep(0)
            steps = self.behaviour.get(key.name, [Result()])
            step = steps[min(self.calls[key.name], len(steps) - 1)]
            self.calls[key.name] += 1
            if sum(self.calls.values()) >= self.expected:
                self.finished.set()
            if isinstance(step, BaseException):
                raise step
            assert isinstance(step, Result)
            return step
        finally:
            self.active.discard(key)


def _key(name: str, namespace: str = "ns") -> ObjectKey:
    return ObjectKey("configmaps", namespace, name)


async def _run(controller: Controller, script: Script, expected: int) -> None:
    script.expected = expected
    task = asyncio.create_task(controller.run())
    await asyncio.wait_for(script.finished.wait(), 10)
    await controller.queue.shut_down(drain=True)
    await asyncio.wait_for(task, 10)


async def test_errors_are_retried_with_backoff_and_success_forgets() -> None:
    """An exception requeues with rate limiting until success, which forgets the key."""
    clock = FakeClock()
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=clock, rate_limiter=ItemExponential(base=0.01))
    script = Script({"flaky": [RuntimeError("boom"), Conflict(status=409), Result()]})
    metrics = Metrics()
    controller = Controller(
        kind="configmaps", reconciler=script, queue=queue, workers=2, metrics=metrics
    )
    queue.add(_key("flaky"))
    script.expected = 3
    task = asyncio.create_task(controller.run())
    for _ in range(2):
        await clock.wait_for_sleepers()
        clock.advance(1.0)
    await asyncio.wait_for(script.finished.wait(), 10)
    await queue.shut_down(drain=True)
    await asyncio.wait_for(task, 10)
    assert metrics.results == Counter({"error": 1, "conflict": 1, "success": 1})
    assert queue.num_requeues(_key("flaky")) == 0


async def test_terminal_errors_are_dropped() -> None:
    """A terminal error is counted once and the key is not retried."""
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    script = Script({"bad": [TerminalError("no")]})
    metrics = Metrics()
    controller = Controller(
        kind="configmaps", reconciler=script, queue=queue, workers=1, metrics=metrics
    )
    queue.add(_key("bad"))
    await _run(controller, script, 1)
    assert metrics.results == Counter({"terminal": 1})
    assert queue.delayed == 0


async def test_reconcile_timeout_is_guarded() -> None:
    """A reconcile that hangs is cut off by the timeout and retried, not left running."""

    class Hang:
        async def reconcile(self, key: ObjectKey) -> Result:
            await asyncio.Event().wait()
            return Result()

    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    metrics = Metrics()
    controller = Controller(
        kind="configmaps",
        reconciler=Hang(),
        queue=queue,
        workers=1,
        reconcile_timeout=0.05,
        metrics=metrics,
    )
    await controller.process(_key("slow"))
    assert metrics.results == Counter({"timeout": 1})
    assert queue.delayed == 1


async def test_same_key_never_concurrent_with_many_workers() -> None:
    """With 8 workers and repeated adds, no key is ever reconciled twice at once."""
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    script = Script({})
    controller = Controller(kind="configmaps", reconciler=script, queue=queue, workers=8)
    keys = [_key(f"k{i % 5}", f"ns{i % 3}") for i in range(200)]
    script.expected = 5
    task = asyncio.create_task(controller.run())
    for key in keys:
        queue.add(key)
        await asyncio.sleep(0)
    await asyncio.wait_for(script.finished.wait(), 10)
    await queue.shut_down(drain=True)
    await asyncio.wait_for(task, 10)
    assert not script.overlap


async def test_requeue_after_is_honoured() -> None:
    """``requeue_after`` puts the key back after exactly that delay on the clock."""
    clock = FakeClock()
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=clock)
    script = Script({"later": [Result(requeue_after=5.0), Result()]})
    controller = Controller(kind="configmaps", reconciler=script, queue=queue, workers=1)
    queue.add(_key("later"))
    script.expected = 2
    task = asyncio.create_task(controller.run())
    await clock.wait_for_sleepers()
    assert clock.next_deadline() == 5.0
    assert script.calls["later"] == 1
    clock.advance(5.0)
    await asyncio.wait_for(script.finished.wait(), 10)
    await queue.shut_down(drain=True)
    await asyncio.wait_for(task, 10)
    assert script.calls["later"] == 2
