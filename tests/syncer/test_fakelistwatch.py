"""The in-memory ListerWatcher keeps the contract it promises plugin authors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from syncer.errors import AlreadyExists, Conflict, Gone, NotFound, ServerError
from syncer.fakelistwatch import FakeListerWatcher
from syncer.listwatch import ListerWatcher
from syncer.resources import CONFIGMAPS, NODES, SECRETS
from syncer.selectors import ObjectFilter

Json = dict[str, Any]


def _cm(name: str, *, namespace: str = "ns", app: str = "web") -> Json:
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"app": app}}}


async def _names(fake: ListerWatcher, **kwargs: Any) -> list[str]:
    page = await fake.list(CONFIGMAPS, **kwargs)
    return [obj["metadata"]["name"] for obj in page["items"]]


async def test_writes_stamp_one_increasing_resource_version() -> None:
    """Every write on any resource raises the one counter; objects carry it."""
    fake = FakeListerWatcher()
    a = await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    s = await fake.create(SECRETS, namespace="ns", body=_cm("s"))
    a2 = await fake.update(CONFIGMAPS, namespace="ns", name="a", body=a)
    gone = await fake.delete(CONFIGMAPS, namespace="ns", name="a")
    versions = [o["metadata"]["resourceVersion"] for o in (a, s, a2, gone)]
    assert versions == ["1", "2", "3", "4"]
    assert fake.resource_version == "4"
    assert a2["metadata"]["uid"] == a["metadata"]["uid"]


async def test_write_errors_are_the_servers() -> None:
    """Duplicate create, missing object and stale update raise the project's errors."""
    fake = FakeListerWatcher()
    first = await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    with pytest.raises(AlreadyExists):
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    await fake.update(CONFIGMAPS, namespace="ns", name="a", body=first)
    with pytest.raises(Conflict):
        await fake.update(CONFIGMAPS, namespace="ns", name="a", body=first)
    with pytest.raises(NotFound):
        await fake.get(CONFIGMAPS, namespace="ns", name="missing")
    with pytest.raises(NotFound):
        await fake.delete(CONFIGMAPS, namespace="ns", name="missing")


async def test_what_is_handed_out_is_a_copy() -> None:
    """Changing a returned or sent object changes nothing on the server."""
    fake = FakeListerWatcher()
    body = _cm("a")
    created = await fake.create(CONFIGMAPS, namespace="ns", body=body)
    body["metadata"]["labels"]["app"] = "changed"
    created["metadata"]["labels"]["app"] = "changed"
    (listed,) = (await fake.list(CONFIGMAPS))["items"]
    listed["metadata"]["labels"]["app"] = "changed"
    got = await fake.get(CONFIGMAPS, namespace="ns", name="a")
    assert got["metadata"]["labels"] == {"app": "web"}


async def test_pages_follow_one_snapshot_until_compaction() -> None:
    """Pages come sorted from the first page's snapshot; compaction expires the token."""
    fake = FakeListerWatcher()
    for name in ("c", "a", "b"):
        await fake.create(CONFIGMAPS, namespace="ns", body=_cm(name))
    first = await fake.list(CONFIGMAPS, limit=2)
    assert [o["metadata"]["name"] for o in first["items"]] == ["a", "b"]
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("d"))
    rest = await fake.list(CONFIGMAPS, limit=2, continue_token=first["metadata"]["continue"])
    assert [o["metadata"]["name"] for o in rest["items"]] == ["c"]
    assert "continue" not in rest["metadata"]
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"] == "3"
    again = await fake.list(CONFIGMAPS, limit=1)
    fake.compact()
    with pytest.raises(Gone):
        await fake.list(CONFIGMAPS, limit=1, continue_token=again["metadata"]["continue"])


async def test_scope_and_selectors() -> None:
    """Namespace, label and field selectors narrow lists; unsupported terms are refused."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a", app="web"))
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b", app="db"))
    await fake.create(CONFIGMAPS, namespace="other", body=_cm("c", app="web"))
    assert await _names(fake, namespace="ns") == ["a", "b"]
    assert await _names(fake, label_selector="app=web") == ["a", "c"]
    assert await _names(fake, label_selector="app!=web") == ["b"]
    assert await _names(fake, label_selector="app,!tier") == ["a", "b", "c"]
    assert await _names(fake, label_selector="!app") == []
    assert await _names(fake, field_selector="metadata.name=b") == ["b"]
    assert await _names(fake, field_selector="metadata.namespace!=ns") == ["c"]
    with pytest.raises(ValueError, match="unsupported"):
        await _names(fake, label_selector="app in (web,db)")
    with pytest.raises(ValueError, match="unsupported"):
        await _names(fake, field_selector="spec.nodeName=n1")
    assert ObjectFilter(NODES, None, None, None).matches({"metadata": {"name": "n"}})


async def test_watch_replays_from_a_version_and_expires_after_compaction() -> None:
    """From "0": ADDED for what exists; from N: every later event; older than compaction: Gone."""
    fake = FakeListerWatcher()
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("a"))
    await fake.create(CONFIGMAPS, namespace="ns", body=_cm("b"))
    await fake.delete(CONFIGMAPS, namespace="ns", name="a")

    async def first(resource_version: str, count: int) -> list[tuple[str, str]]:
        stream = fake.watch(CONFIGMAPS, resource_version=resource_version, timeout_seconds=1)
        events = [await anext(stream) for _ in range(count)]
        await stream.aclose()
        return [(e["type"], e["object"]["metadata"]["name"]) for e in events]

    assert await first("0", 1) == [("ADDED", "b")]
    assert await first("1", 2) == [("ADDED", "b"), ("DELETED", "a")]
    fake.compact()
    with pytest.raises(Gone):
        await first("2", 1)
    assert fake.open_watches == 0


async def test_cuts_bookmarks_and_failures() -> None:
    """A cut ends or fails the stream; bookmarks reach only watches that allowed them."""
    fake = FakeListerWatcher()
    with_marks = fake.watch(CONFIGMAPS, resource_version="0", timeout_seconds=1)
    without = fake.watch(CONFIGMAPS, resource_version="0", timeout_seconds=1, allow_bookmarks=False)
    pending = [asyncio.ensure_future(anext(with_marks)), asyncio.ensure_future(anext(without))]
    await fake.wait_watches(2)
    assert fake.bookmark() == 1
    mark = await pending[0]
    assert mark == {
        "type": "BOOKMARK",
        "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"resourceVersion": "0"}},
    }
    assert fake.cut_watches(error=ServerError(status=0, reason="Transport")) == 2
    with pytest.raises(ServerError):
        await pending[1]
    with pytest.raises(ServerError):
        await anext(with_marks)
    with pytest.raises(StopAsyncIteration):
        await anext(with_marks)  # a failed stream stays finished
    fake.fail_next("watch", ServerError(status=503))
    with pytest.raises(ServerError):
        await anext(fake.watch(CONFIGMAPS, resource_version="0", timeout_seconds=1))
