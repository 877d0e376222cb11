"""The informer against the in-memory ListerWatcher: handlers, sync state, indexes, live lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from syncer.clock import FakeClock
from syncer.errors import ServerError
from syncer.fakelistwatch import FakeListerWatcher
from syncer.informer import Informer
from syncer.resources import CONFIGMAPS
from syncer.store import Obj

Json = dict[str, Any]


def _cm(name: str, *, app: str = "web", value: str = "1") -> Json:
    return {
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": app}},
        "data": {"v": value},
    }


class Recorder:
    """An event handler that writes down every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_add(self, obj: Obj) -> None:
        self.calls.append(("add", obj["metadata"]["name"]))

    def on_update(self, old: Obj, new: Obj) -> None:
        self.calls.append(("update", f"{old['data']['v']}->{new['data']['v']}"))

    def on_delete(self, obj: Obj) -> None:
        self.calls.append(("delete", obj["metadata"]["name"]))


class Broken:
    """A handler that raises on every call."""

    def on_add(self, obj: Obj) -> None:
        raise RuntimeError("add")

    def on_update(self, old: Obj, new: Obj) -> None:
        raise RuntimeError("update")

    def on_delete(self, obj: Obj) -> None:
        raise RuntimeError("delete")


@asynccontextmanager
async def running(*informers: Informer) -> AsyncIterator[None]:
    """Run the informers for the block; cancel them after."""
    tasks = [asyncio.create_task(informer.run()) for informer in informers]
    try:
        async with asyncio.timeout(10):
            yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_every_handler_sees_every_change_in_order() -> None:
    """Two handlers each get add, update and delete, in the server's order."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    informer = Informer(cluster="virtual", client=fake, resource=CONFIGMAPS)
    first, second = Recorder(), Recorder()
    informer.add_handler(first)
    informer.add_handler(second)
    async with running(informer):
        await fake.settle()
        await fake.update(CONFIGMAPS, namespace="ns", name="a", body=_cm("a", value="2"))
        await fake.delete(CONFIGMAPS, namespace="ns", name="a")
        await fake.settle()
    expected = [("add", "a"), ("update", "1->2"), ("delete", "a")]
    assert first.calls == expected
    assert second.calls == expected
    assert informer.get("ns", "a") is None


async def test_a_raising_handler_is_counted_and_stops_nobody() -> None:
    """A handler that raises on each change is counted thrice; the next handler sees all three."""
    fake = FakeListerWatcher()
    informer = Informer(cluster="virtual", client=fake, resource=CONFIGMAPS)
    after = Recorder()
    informer.add_handler(Broken())
    informer.add_handler(after)
    async with running(informer):
        await fake.settle()
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
        await fake.update(CONFIGMAPS, namespace="ns", name="a", body=_cm("a", value="2"))
        await fake.delete(CONFIGMAPS, namespace="ns", name="a")
        await fake.settle()
    assert informer.handler_errors == 3
    assert [call for call, _ in after.calls] == ["add", "update", "delete"]


async def test_has_synced_turns_true_after_the_first_list_only() -> None:
    """has_synced is false while the list keeps failing and true once it succeeds."""
    fake = FakeListerWatcher()
    fake.fail_next("list", ServerError(status=500))
    clock = FakeClock()
    informer = Informer(cluster="host", client=fake, resource=CONFIGMAPS, clock=clock)
    states = [informer.has_synced]
    async with running(informer):
        await clock.wait_for_sleepers()
        states.append(informer.has_synced)
        clock.advance(60)
        await informer.wait_synced()
        states.append(informer.has_synced)
    assert states == [False, False, True]
    assert informer.name == "host/configmaps"


async def test_indexes_added_after_start_are_back_filled_and_kept() -> None:
    """An index registered on a filled cache covers existing and later objects."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a", app="web"))
    informer = Informer(cluster="virtual", client=fake, resource=CONFIGMAPS)
    async with running(informer):
        await informer.wait_synced()
        informer.add_index("app", lambda obj: [obj["metadata"]["labels"]["app"]])
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b", app="web"))
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("c", app="db"))
        await fake.settle()
    assert sorted(informer.store.keys_by_index("app", "web")) == [("ns", "a"), ("ns", "b")]
    assert informer.store.keys_by_index("app", "db") == [("ns", "c")]


async def test_scope_and_selectors_reach_the_server() -> None:
    """Namespace and selectors are passed to list and watch; only matching objects are cached."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a", app="web"))
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b", app="db"))
    informer = Informer(
        cluster="host", client=fake, resource=CONFIGMAPS, namespace="ns", label_selector="app=web"
    )
    async with running(informer):
        await fake.settle()
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("c", app="db"))
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("d", app="web"))
        await fake.settle()
    assert sorted(informer.store.keys()) == [("ns", "a"), ("ns", "d")]
    assert {(r.namespace, r.label_selector) for r in fake.list_requests} == {("ns", "app=web")}
    assert {(r.namespace, r.label_selector) for r in fake.watch_requests} == {("ns", "app=web")}


async def test_list_live_reads_the_server_and_leaves_the_cache_alone() -> None:
    """list_live returns what the server holds now, transformed; the store does not change."""
    fake = FakeListerWatcher()
    informer = Informer(cluster="virtual", client=fake, resource=CONFIGMAPS)
    async with running(informer):
        await fake.settle()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    live = await informer.list_live()
    assert [obj["metadata"]["name"] for obj in live] == ["a"]
    assert informer.store.keys() == []
