"""The reflector against the in-memory ListerWatcher: list, watch, relist, resume, back off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from syncer.backoff import Backoff
from syncer.clock import FakeClock
from syncer.errors import Gone, NotFound, ServerError
from syncer.fakelistwatch import FakeListerWatcher
from syncer.reflector import Reflector
from syncer.resources import CONFIGMAPS, SECRETS
from syncer.store import Obj, Store

Json = dict[str, Any]


def _cm(name: str, value: str = "1", namespace: str = "ns") -> Json:
    return {"metadata": {"name": name, "namespace": namespace}, "data": {"v": value}}


class Recorder:
    """An event handler that writes down every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_add(self, obj: Obj) -> None:
        self.calls.append(("add", obj["metadata"]["name"]))

    def on_update(self, old: Obj, new: Obj) -> None:
        self.calls.append(("update", new["metadata"]["name"]))

    def on_delete(self, obj: Obj) -> None:
        self.calls.append(("delete", obj["metadata"]["name"]))


class Restarts:
    """Reflector metrics that keep the restart reasons."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.events: list[str] = []

    def event(self, *, type_: str) -> None:
        self.events.append(type_)

    def restart(self, *, reason: str) -> None:
        self.reasons.append(reason)


def _reflector(
    fake: FakeListerWatcher,
    *,
    clock: FakeClock | None = None,
    page_size: int = 500,
    metrics: Restarts | None = None,
) -> tuple[Reflector, Store, Recorder]:
    store, handler = Store(), Recorder()
    clock = clock or FakeClock()
    reflector = Reflector(
        client=fake,
        resource=CONFIGMAPS,
        store=store,
        handler=handler,
        page_size=page_size,
        clock=clock,
        backoff=Backoff(clock=clock, rand=lambda: 0.0),
        metrics=metrics,
    )
    return reflector, store, handler


@asynccontextmanager
async def running(reflector: Reflector) -> AsyncIterator[asyncio.Task[None]]:
    """Run the reflector for the block; cancel it after."""
    task = asyncio.create_task(reflector.run())
    try:
        yield task
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _data(store: Store) -> dict[str, str]:
    return {obj["metadata"]["name"]: obj["data"]["v"] for obj in store.list()}


async def _server_data(fake: FakeListerWatcher) -> dict[str, str]:
    page = await fake.list(CONFIGMAPS)
    return {obj["metadata"]["name"]: obj["data"]["v"] for obj in page["items"]}


async def test_list_then_watch_fills_the_store_and_tells_the_handler() -> None:
    """A paged list fills the store; watch events then add, update and delete, in order."""
    fake = FakeListerWatcher()
    for name in ("a", "b", "c"):
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm(name))
    reflector, store, handler = _reflector(fake, page_size=2)
    async with running(reflector), asyncio.timeout(10):
        await reflector.wait_synced()
        assert reflector.has_synced
        assert [r.continue_token is None for r in fake.list_requests] == [True, False]
        assert _data(store) == {"a": "1", "b": "1", "c": "1"}
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("d"))
        await fake.update(CONFIGMAPS, namespace="ns", name="a", body=_cm("a", "2"))
        await fake.delete(CONFIGMAPS, namespace="ns", name="b")
        await fake.settle()
    assert _data(store) == {"a": "2", "c": "1", "d": "1"}
    assert handler.calls == [
        ("add", "a"),
        ("add", "b"),
        ("add", "c"),
        ("add", "d"),
        ("update", "a"),
        ("delete", "b"),
    ]
    assert reflector.resource_version == fake.resource_version
    assert store.resource_version == fake.resource_version


async def test_the_watch_starts_from_the_lists_resource_version_with_bookmarks() -> None:
    """The first watch: from the list's version, bookmarks on, timeout 1 to 2 times the minimum."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    reflector, _, _ = _reflector(fake)
    async with running(reflector), asyncio.timeout(10):
        await fake.wait_watches()
    (request,) = fake.watch_requests
    assert request.resource_version == "1"
    assert request.allow_bookmarks
    assert 300 <= request.timeout_seconds <= 600


async def test_managed_fields_are_dropped_before_storing() -> None:
    """The default transform strips metadata.managedFields from listed and watched objects."""
    fake = FakeListerWatcher()
    body = _cm("a") | {"metadata": {"name": "a", "namespace": "ns", "managedFields": [{}]}}
    await fake.create(CONFIGMAPS, namespace="ns", body=body)
    reflector, store, _ = _reflector(fake)
    async with running(reflector), asyncio.timeout(10):
        await reflector.wait_synced()
        await fake.create(CONFIGMAPS, namespace="ns", body=body | {"metadata": {"name": "b"}})
        await fake.settle()
    assert [("managedFields" in o["metadata"]) for o in store.list()] == [False, False]


async def test_a_cut_watch_resumes_from_the_last_resource_version_without_relisting() -> None:
    """A stream that ends normally is reopened from the last version seen; no list, nothing lost."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    metrics = Restarts()
    reflector, store, _ = _reflector(fake, metrics=metrics)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b"))
        await fake.settle()
        assert fake.cut_watches() == 1
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("c"))
        await fake.settle()
    assert [r.resource_version for r in fake.watch_requests] == ["1", "2"]
    assert reflector.lists == 1
    assert _data(store) == {"a": "1", "b": "1", "c": "1"}
    assert metrics.reasons == ["timeout"]


async def test_gone_relists_and_reports_what_changed_meanwhile() -> None:
    """A 410 on the watch relists at once: deletes missed meanwhile reach the handler."""
    fake = FakeListerWatcher()
    for name in ("a", "b"):
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm(name))
    metrics = Restarts()
    reflector, store, handler = _reflector(fake, metrics=metrics)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
        # Changes the watch never delivers: the stream is cut with a 410 before they reach it.
        fake.cut_watches(error=Gone(status=410, reason="Expired"))
        await fake.delete(CONFIGMAPS, namespace="ns", name="a")
        await fake.update(CONFIGMAPS, namespace="ns", name="b", body=_cm("b", "2"))
        await fake.settle()
    assert reflector.lists == 2
    assert metrics.reasons == ["expired"]
    assert _data(store) == {"b": "2"}
    assert handler.calls[2:] == [("delete", "a"), ("update", "b")]


async def test_a_restarted_reflector_resumes_and_relists_when_its_version_expired() -> None:
    """After a stop, run() resumes the watch; if compaction passed it, 410 leads to a relist."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    reflector, store, handler = _reflector(fake)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
    await fake.delete(CONFIGMAPS, namespace="ns", name="a")
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b"))
    fake.compact()
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
    assert reflector.lists == 2
    assert _data(store) == {"b": "1"}
    assert handler.calls == [("add", "a"), ("delete", "a"), ("add", "b")]
    assert await _server_data(fake) == _data(store)


async def test_bookmarks_advance_the_resource_version() -> None:
    """A bookmark moves the version the next watch resumes from, with no object change."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    reflector, store, handler = _reflector(fake)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
        # Writes to another resource move the server's version only.
        await fake.create(SECRETS, namespace="ns", body=_cm("s"))
        assert reflector.resource_version == "1"
        assert fake.bookmark() == 1
        await fake.settle()
        assert reflector.resource_version == store.resource_version == "2"
        fake.cut_watches()
        await fake.settle()
    assert fake.watch_requests[-1].resource_version == "2"
    assert handler.calls == [("add", "a")]


async def test_dropped_and_stale_bookmarks_lose_nothing() -> None:
    """Without bookmarks the last event's version is used; a stale one only replays events."""
    fake = FakeListerWatcher()
    fake.drop_bookmarks = True
    reflector, store, handler = _reflector(fake)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b"))
        assert fake.bookmark() == 0
        await fake.settle()
        assert reflector.resource_version == "2"
        fake.drop_bookmarks = False
        fake.bookmark(resource_version="1")  # arrives out of order
        await fake.settle()
        # The reflector takes a bookmark's version as the server sends it ...
        assert reflector.resource_version == "1"
        fake.cut_watches()
        await fake.delete(CONFIGMAPS, namespace="ns", name="a")
        await fake.update(CONFIGMAPS, namespace="ns", name="b", body=_cm("b", "2"))
        await fake.settle()
    # ... so it resumes from there: "b" (version 2) comes again, and nothing is lost.
    assert fake.watch_requests[-1].resource_version == "1"
    assert handler.calls == [
        ("add", "a"),
        ("add", "b"),
        ("update", "b"),
        ("delete", "a"),
        ("update", "b"),
    ]
    assert _data(store) == await _server_data(fake) == {"b": "2"}


async def test_a_failing_list_backs_off_and_retries() -> None:
    """List errors wait 0.8 s, then 1.6 s (no jitter here), then the list succeeds."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    fake.fail_next("list", ServerError(status=500))
    fake.fail_next("list", ServerError(status=503))
    clock = FakeClock()
    metrics = Restarts()
    reflector, store, _ = _reflector(fake, clock=clock, metrics=metrics)
    async with running(reflector), asyncio.timeout(10):
        await clock.wait_for_sleepers()
        assert clock.next_deadline() == pytest.approx(0.8)
        clock.advance(0.8)
        await clock.wait_for_sleepers()
        assert clock.next_deadline() == pytest.approx(0.8 + 1.6)
        assert not reflector.has_synced
        clock.advance(1.6)
        await reflector.wait_synced()
    assert _data(store) == {"a": "1"}
    assert metrics.reasons == ["list_error", "list_error"]


async def test_a_failing_watch_backs_off_and_resumes_without_relisting() -> None:
    """A non-410 watch error waits out the backoff, then watches again from the same version."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    clock = FakeClock()
    metrics = Restarts()
    reflector, store, _ = _reflector(fake, clock=clock, metrics=metrics)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
        fake.cut_watches(error=ServerError(status=0, reason="Transport"))
        await clock.wait_for_sleepers()
        assert fake.open_watches == 0
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b"))
        clock.advance(0.8)
        await fake.settle()
    assert [r.resource_version for r in fake.watch_requests] == ["1", "1"]
    assert reflector.lists == 1
    assert metrics.reasons == ["error"]
    assert _data(store) == {"a": "1", "b": "1"}


async def test_an_expired_continue_token_starts_the_list_over() -> None:
    """Gone on the second page restarts the paginated list from the first page."""
    fake = FakeListerWatcher()
    for name in ("a", "b", "c"):
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm(name))
    fake.fail_next("list", Gone(status=410), skip=1)
    reflector, _, _ = _reflector(fake, page_size=2)
    items, resource_version = await reflector.fetch()
    assert [o["metadata"]["name"] for o in items] == ["a", "b", "c"]
    assert resource_version == "3"
    assert [r.continue_token is None for r in fake.list_requests] == [True, False, True, False]


async def test_gone_on_the_first_page_propagates_from_fetch() -> None:
    """Only a continue token's expiry is retried inside fetch; a first-page 410 is the caller's."""
    fake = FakeListerWatcher()
    fake.fail_next("list", Gone(status=410))
    reflector, _, _ = _reflector(fake)
    with pytest.raises(Gone):
        await reflector.fetch()


async def test_correct_stores_live_objects_and_drops_gone_keys() -> None:
    """correct() adds, updates and deletes like watch events, and leaves the version alone."""
    fake = FakeListerWatcher()
    for name in ("a", "b"):
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm(name))
    reflector, store, handler = _reflector(fake)
    async with running(reflector), asyncio.timeout(10):
        await fake.settle()
    version = reflector.resource_version
    live = [_cm("a", "9"), _cm("c")]
    reflector.correct(live=live, gone=[("ns", "b"), ("ns", "never-cached")])
    assert _data(store) == {"a": "9", "c": "1"}
    assert handler.calls[2:] == [("update", "a"), ("add", "c"), ("delete", "b")]
    assert reflector.resource_version == version
    with pytest.raises(NotFound):
        await fake.get(CONFIGMAPS, namespace="ns", name="c")
