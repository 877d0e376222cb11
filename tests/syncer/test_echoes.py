"""Own writes: only versions we wrote, of tracked kinds, each recognised once, bounded."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.echoes import Json, OwnWrites, RecordingApi
from syncer.errors import Conflict
from syncer.resources import CONFIGMAPS, PODS, Resource


def obj(name: str, rv: str, namespace: str = "ns") -> dict[str, object]:
    return {"metadata": {"namespace": namespace, "name": name, "resourceVersion": rv}}


def test_a_written_version_is_an_echo_exactly_once() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("pods", obj("a", "10"))
    assert writes.is_echo("pods", obj("a", "10"))
    assert not writes.is_echo("pods", obj("a", "10"))
    assert len(writes) == 0


def test_other_versions_names_namespaces_and_kinds_are_not_echoes() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("pods", obj("a", "10"))
    assert not writes.is_echo("pods", obj("a", "11"))
    assert not writes.is_echo("pods", obj("b", "10"))
    assert not writes.is_echo("pods", obj("a", "10", namespace="other"))
    assert not writes.is_echo("secrets", obj("a", "10"))
    assert writes.is_echo("pods", obj("a", "10"))


def test_untracked_kinds_and_objects_without_a_version_are_not_recorded() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("secrets", obj("a", "1"))
    writes.record("pods", {"metadata": {"name": "a"}})
    writes.record("pods", {"kind": "Status"})
    assert len(writes) == 0
    assert not writes.is_echo("pods", {"metadata": {"name": "a"}})


def test_several_versions_of_one_object_are_each_recognised() -> None:
    writes = OwnWrites()
    writes.track("pods")
    writes.record("pods", obj("a", "10"))
    writes.record("pods", obj("a", "12"))
    assert writes.is_echo("pods", obj("a", "12"))
    assert writes.is_echo("pods", obj("a", "10"))


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=200), st.integers(1, 20))
def test_memory_is_bounded_and_the_newest_are_kept(versions: list[int], capacity: int) -> None:
    writes = OwnWrites(capacity=capacity)
    writes.track("pods")
    for version in versions:
        writes.record("pods", obj("a", str(version)))
    assert len(writes) <= capacity
    newest = list(dict.fromkeys(reversed(versions)))[:capacity]
    for version in newest:
        assert writes.is_echo("pods", obj("a", str(version)))


class Server:
    """Stands in for a cluster's client: every write bumps the object's resourceVersion."""

    def __init__(self, *, fail: bool = False) -> None:
        self.version = 0
        self.fail = fail
        self.calls: list[str] = []

    def _stored(self, verb: str, name: str) -> dict[str, object]:
        self.calls.append(verb)
        if self.fail:
            raise Conflict(status=409)
        self.version += 1
        return obj(name, str(self.version))

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        return self._stored("get", name)

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
        return self._stored("create", body["metadata"]["name"])

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        return self._stored("update", name)

    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        return self._stored("update_status", name)

    async def patch(
        self, resource: Resource, *, namespace: str | None, name: str, **kw: Any
    ) -> Json:
        return self._stored("patch", name)

    async def delete(
        self, resource: Resource, *, namespace: str | None, name: str, **kw: Any
    ) -> Json:
        return self._stored("delete", name)

    async def create_subresource(
        self, resource: Resource, *, namespace: str | None, name: str, subresource: str, body: Any
    ) -> Json:
        return self._stored(subresource, name)


def _api(server: Server) -> RecordingApi:
    writes = OwnWrites()
    writes.track("pods")
    return RecordingApi(client=server, writes=writes)


async def test_recording_api_records_creates_updates_and_patches_it_sends() -> None:
    """Each create, update, status update and patch answer is an echo once; each call is sent."""
    server = Server()
    api = _api(server)
    body = obj("a", "")
    await api.create(PODS, namespace="ns", body=body)
    await api.update(PODS, namespace="ns", name="a", body=body)
    await api.update_status(PODS, namespace="ns", name="a", body=body)
    await api.patch(PODS, namespace="ns", name="a", body={}, patch_type="strategic")
    assert server.calls == ["create", "update", "update_status", "patch"]
    assert [api.writes.is_echo("pods", obj("a", str(v))) for v in range(1, 5)] == [True] * 4
    assert len(api.writes) == 0


async def test_recording_api_leaves_reads_deletes_subresources_and_failures_unrecorded() -> None:
    """A get, a delete, a binding or a write that failed records nothing."""
    server = Server()
    api = _api(server)
    await api.get(PODS, namespace="ns", name="a")
    await api.delete(PODS, namespace="ns", name="a", uid="u")
    await api.create_subresource(PODS, namespace="ns", name="a", subresource="binding", body={})
    assert len(api.writes) == 0
    failing = _api(Server(fail=True))
    with pytest.raises(Conflict):
        await failing.create(PODS, namespace="ns", body=obj("a", ""))
    assert len(failing.writes) == 0


async def test_recording_api_records_only_tracked_kinds() -> None:
    """A configmap written through the same API is not remembered when only pods are tracked."""
    api = _api(Server())
    await api.create(CONFIGMAPS, namespace="ns", body=obj("a", ""))
    assert len(api.writes) == 0
