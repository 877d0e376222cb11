"""Per-kind availability: the state machine, the readiness verdict, the gauge, the bring-up loop."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from syncer.availability import KindBook, KindState, Probe, bring_up
from syncer.backoff import Backoff
from syncer.clock import FakeClock
from syncer.errors import Forbidden, NotFound


class Gauge:
    def __init__(self) -> None:
        self.values: dict[str, bool] = {}

    def __call__(self, *, kind: str, ready: bool) -> None:
        self.values[kind] = ready


def test_gauge_is_zero_until_ready_and_one_after() -> None:
    """Every kind starts at 0; ready sets 1; a ready kind stays ready."""
    gauge = Gauge()
    book = KindBook(kinds=["pods", "widgets"], set_ready=gauge)
    assert gauge.values == {"pods": False, "widgets": False}
    book.unavailable("widgets", cause="virtual widgets: 404 not found")
    book.syncing("pods")
    assert gauge.values == {"pods": False, "widgets": False}
    book.ready("pods")
    assert gauge.values == {"pods": True, "widgets": False}
    book.unavailable("pods", cause="late")
    assert book.is_ready("pods")
    assert gauge.values["pods"] is True


def test_verdict_names_every_kind_not_ready_required_first() -> None:
    """Ready iff every required kind is ready; the reason says which are not, and why."""
    book = KindBook(kinds=["gadgets", "pods", "widgets"], optional=["gadgets"])
    book.unavailable("gadgets", cause="virtual gadgets: 404 nope")
    book.unavailable("widgets", cause="host widgets: 403 forbidden")
    book.syncing("pods")
    assert book.verdict() == (
        False,
        "kinds not ready: pods: syncing; widgets: unavailable (host widgets: 403 forbidden); "
        "gadgets (optional): unavailable (virtual gadgets: 404 nope)",
    )
    book.ready("pods")
    book.syncing("widgets")
    book.ready("widgets")
    assert book.verdict() == (True, "")
    assert book.status("gadgets").state is KindState.UNAVAILABLE


def test_one_log_line_per_change_of_cause() -> None:
    """Retries with the same cause log nothing; a new cause logs once more."""
    book = KindBook(kinds=["widgets"])
    with capture_logs() as logs:
        for _ in range(3):
            book.unavailable("widgets", cause="virtual widgets: 404 a")
        book.unavailable("widgets", cause="virtual widgets: 403 b")
    lines = [(e["event"], e.get("kind"), e.get("cause")) for e in logs]
    assert lines == [
        ("kind unavailable; retrying", "widgets", "virtual widgets: 404 a"),
        ("kind unavailable; retrying", "widgets", "virtual widgets: 403 b"),
    ]


async def test_settled_once_every_kind_was_ready_or_unavailable() -> None:
    """The start-up wait ends when no kind is still on its first probe or first sync."""
    book = KindBook(kinds=["pods", "widgets"])
    book.syncing("pods")
    book.unavailable("widgets", cause="x")
    before = book.settled
    book.ready("pods")
    assert (before, book.settled) == (False, True)
    await asyncio.wait_for(book.wait_settled(), 1)
    assert KindBook(kinds=()).settled


class Api:
    """A resource the server serves only once ``installed`` is set."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.installed = False
        self.asked = 0

    async def ask(self) -> object:
        self.asked += 1
        if not self.installed:
            raise self.error
        return {}


async def test_bring_up_retries_with_backoff_until_served_then_starts() -> None:
    """Probes fail → unavailable with the cause, retried after 0.8, 1.6 s; once served,
    the informers start, the kind is ready and ``on_ready`` is told."""
    clock = FakeClock()
    book = KindBook(kinds=["widgets"])
    crd = Api(NotFound(status=404, reason="NotFound", message="the server could not find it"))
    started: list[str] = []
    ready: list[str] = []

    async def start() -> None:
        started.append("widgets")

    task = asyncio.create_task(
        bring_up(
            kind="widgets",
            probes=[Probe(where="virtual widgets", ask=crd.ask)],
            start=start,
            book=book,
            on_ready=ready.append,
            backoff=Backoff(clock=clock, jitter=0.0),
            clock=clock,
        )
    )
    await clock.wait_for_sleepers()
    assert book.status("widgets").cause == "virtual widgets: 404 the server could not find it"
    assert (clock.next_deadline(), started) == (0.8, [])
    clock.advance(0.8)
    await clock.wait_for_sleepers()
    assert (crd.asked, clock.next_deadline()) == (2, 0.8 + 1.6)
    crd.installed = True
    clock.advance(1.6)
    await asyncio.wait_for(task, 1)
    assert (started, ready, book.is_ready("widgets")) == (["widgets"], ["widgets"], True)


async def test_bring_up_reports_the_first_failing_resource() -> None:
    """With the virtual side served and the host side forbidden, the cause names the host."""
    clock = FakeClock()
    book = KindBook(kinds=["widgets"])
    served = Api(NotFound(status=404))
    served.installed = True
    forbidden = Api(Forbidden(status=403, reason="Forbidden", message="widgets is forbidden"))

    async def start() -> None:
        raise AssertionError("must not start")

    task = asyncio.create_task(
        bring_up(
            kind="widgets",
            probes=[
                Probe(where="virtual widgets", ask=served.ask),
                Probe(where="host widgets", ask=forbidden.ask),
            ],
            start=start,
            book=book,
            clock=clock,
        )
    )
    await clock.wait_for_sleepers()
    assert book.status("widgets").cause == "host widgets: 403 widgets is forbidden"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
