"""The controller: workers, guarded reconciles, retry policy applied to the queue."""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from collections.abc import Iterator

import pytest
import structlog

from syncer.clock import FakeClock
from syncer.controller import Controller
from syncer.errors import Conflict, TerminalError
from syncer.keys import ObjectKey
from syncer.logs import configure_logging, reset_logging
from syncer.ratelimit import ItemExponential
from syncer.reconcile import Result
from syncer.reconcilelog import ReconcileLogger
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


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """JSON log lines at debug level, into a buffer; logging is reset afterwards."""
    stream = io.StringIO()
    configure_logging(format="json", level="debug", stream=stream)
    yield stream
    reset_logging()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class Failing:
    """A reconciler that raises what it is given, every time."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def reconcile(self, key: ObjectKey) -> Result:
        raise self.error


async def test_a_failing_key_logs_its_traceback_at_the_first_failure_only(
    log_lines: io.StringIO,
) -> None:
    """Retries after the first failure are one line each, without traceback, with the count."""
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    controller = Controller(
        kind="configmaps", reconciler=Failing(RuntimeError("plugin bug")), queue=queue
    )
    for _ in range(3):
        await controller.process(_key("broken"))
    lines = _lines(log_lines)
    assert [line["event"] for line in lines] == ["reconcile failed; will retry"] * 3
    assert [line["requeues"] for line in lines] == [0, 1, 2]
    assert "RuntimeError: plugin bug" in str(lines[0]["exception"])
    assert "in reconcile" in str(lines[0]["exception"])
    assert ["exception" in line for line in lines] == [True, False, False]
    assert {line["key"] for line in lines} == {"configmaps:ns/broken"}
    assert [line["reconcile_id"] for line in lines] == [1, 2, 3]
    assert {line["controller"] for line in lines} == {"configmaps"}


async def test_a_dropped_key_logs_its_traceback(log_lines: io.StringIO) -> None:
    """A terminal failure is one error line with the traceback, also after retries."""
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    script = Script({"bad": [RuntimeError("transient"), TerminalError("no")]})
    controller = Controller(kind="configmaps", reconciler=script, queue=queue)
    await controller.process(_key("bad"))
    await controller.process(_key("bad"))
    first, dropped = _lines(log_lines)
    assert "RuntimeError: transient" in str(first["exception"])
    assert dropped["level"] == "error"
    assert dropped["event"] == "reconcile failed permanently; dropped"
    assert "TerminalError: no" in str(dropped["exception"])


async def test_conflicts_log_one_debug_line_without_traceback(log_lines: io.StringIO) -> None:
    """A 409 is expected: a debug line, no traceback."""
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    controller = Controller(
        kind="configmaps", reconciler=Failing(Conflict(status=409)), queue=queue
    )
    await controller.process(_key("raced"))
    (line,) = _lines(log_lines)
    assert line["level"] == "debug"
    assert "exception" not in line


async def test_the_reconcilers_logger_is_bound_to_the_key_and_reconcile_id(
    log_lines: io.StringIO,
) -> None:
    """Lines a ReconcileLogger logs during a reconcile carry its key and id; outside, neither."""
    log = ReconcileLogger(structlog.get_logger("t").bind(kind="configmaps"))

    class Logs:
        async def reconcile(self, key: ObjectKey) -> Result:
            log.bind(step="sync").info("synced")
            return Result()

    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    controller = Controller(kind="configmaps", reconciler=Logs(), queue=queue)
    await controller.process(_key("a"))
    await controller.process(_key("b", "other"))
    log.info("outside")
    first, second, outside = _lines(log_lines)
    assert (first["key"], first["reconcile_id"], first["step"]) == ("configmaps:ns/a", 1, "sync")
    assert (second["key"], second["reconcile_id"]) == ("configmaps:other/b", 2)
    assert first["kind"] == "configmaps"
    assert "key" not in outside
    assert "reconcile_id" not in outside


async def test_the_traceback_comes_at_the_first_failure_after_a_conflict_and_after_a_success(
    log_lines: io.StringIO,
) -> None:
    """A conflict before the failure does not use up the traceback; a success starts afresh."""
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    boom = RuntimeError("boom")
    script = Script({"k": [Conflict(status=409), boom, boom, Result(), boom]})
    controller = Controller(kind="configmaps", reconciler=script, queue=queue)
    for _ in range(5):
        await controller.process(_key("k"))
    failures = [line for line in _lines(log_lines) if line["level"] == "warning"]
    assert [line["requeues"] for line in failures] == [1, 2, 0]
    assert ["exception" in line for line in failures] == [True, False, True]


async def test_workers_start_once_the_start_gate_opens() -> None:
    """Keys queued before the gate opens wait in the queue; none is reconciled before."""
    gate = asyncio.Event()
    queue: WorkQueue[ObjectKey] = WorkQueue(clock=FakeClock())
    script = Script({})
    controller = Controller(
        kind="configmaps", reconciler=script, queue=queue, workers=4, start_gate=gate.wait
    )
    queue.add(_key("a"))
    script.expected = 1
    task = asyncio.create_task(controller.run())
    for _ in range(10):
        await asyncio.sleep(0)
    assert script.calls == Counter()
    gate.set()
    await asyncio.wait_for(script.finished.wait(), 10)
    assert script.calls == Counter({"a": 1})
    await queue.shut_down(drain=True)
    await asyncio.wait_for(task, 10)
