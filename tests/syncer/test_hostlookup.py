"""Host lookups from the managed and unmarked caches, against the in-memory ListerWatcher."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.availability import Probe
from syncer.errors import NotFound
from syncer.fakelistwatch import FakeListerWatcher
from syncer.hostlookup import HostLookup, metadata_only
from syncer.informer import Informer
from syncer.resources import CONFIGMAPS, PODS, PVCS, SECRETS, Resource
from syncer.translate import MANAGED_BY_LABEL, Translator
from tests.syncer.test_informer import running

Json = dict[str, Any]
NS = "vc-host"
T = Translator(vcluster="vc", host_namespace=NS)
SERVED = {("", "secrets"), ("", "configmaps"), ("", "persistentvolumeclaims")}


def _secret(name: str, *, labels: dict[str, str] | None = None) -> Json:
    return {
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "data": {"token": "c2VjcmV0"},
        "type": "Opaque",
    }


class LiveReads:
    """The live GET the lookup falls back to: answers from ``fake`` and counts its calls."""

    def __init__(self, fake: FakeListerWatcher) -> None:
        self.fake = fake
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, resource: Resource, *, name: str) -> Json:
        self.calls.append((resource.plural, name))
        return await self.fake.get(resource, namespace=NS, name=name)


def _lookup(fake: FakeListerWatcher) -> tuple[HostLookup, LiveReads, Informer, Informer]:
    live = LiveReads(fake)
    lookup = HostLookup(live=live, client=fake, translator=T)
    managed = Informer(
        cluster="host",
        client=fake,
        resource=SECRETS,
        namespace=NS,
        label_selector=f"{MANAGED_BY_LABEL}=vc",
    )
    unmarked = lookup.watch_unmarked(managed)
    assert unmarked is not None
    return lookup, live, managed, unmarked


async def test_every_object_of_the_namespace_is_found_without_a_request() -> None:
    """Ours, another vcluster's and an unlabelled secret are all found from the caches; a
    missing name is NotFound; no live GET is made once both caches have synced."""
    fake = FakeListerWatcher(cluster="host")
    for name, labels in (
        ("ours", {MANAGED_BY_LABEL: "vc"}),
        ("theirs", {MANAGED_BY_LABEL: "other"}),
        ("foreign", {}),
    ):
        await fake.create(SECRETS, namespace=NS, body=_secret(name, labels=labels))
    await fake.create(SECRETS, namespace="elsewhere", body={"metadata": {"name": "far"}})
    lookup, live, managed, unmarked = _lookup(fake)
    async with running(managed, unmarked):
        await managed.wait_synced()
        await unmarked.wait_synced()
        assert [o["metadata"]["name"] for o in managed.store.list()] == ["ours"]
        assert sorted(o["metadata"]["name"] for o in unmarked.store.list()) == ["foreign", "theirs"]
        for name in ("ours", "theirs", "foreign"):
            assert (await lookup(SECRETS, name=name))["metadata"]["name"] == name
        with pytest.raises(NotFound):
            await lookup(SECRETS, name="far")
        with pytest.raises(NotFound):
            await lookup(SECRETS, name="missing")
        assert live.calls == []
        # A foreign object created later is seen once its watch event arrives.
        await fake.create(SECRETS, namespace=NS, body=_secret("late"))
        await fake.settle(watches=2)
        assert (await lookup(SECRETS, name="late"))["metadata"]["name"] == "late"
        assert live.calls == []


async def test_unsynced_caches_and_unwatched_kinds_are_read_live() -> None:
    """Before the caches have synced, and for a kind it does not watch, the lookup reads live."""
    fake = FakeListerWatcher(cluster="host")
    await fake.create(SECRETS, namespace=NS, body=_secret("foreign"))
    await fake.create(PODS, namespace=NS, body={"metadata": {"name": "p"}})
    lookup, live, _, _ = _lookup(fake)
    assert (await lookup(SECRETS, name="foreign"))["metadata"]["name"] == "foreign"
    assert (await lookup(PODS, name="p"))["metadata"]["name"] == "p"
    assert live.calls == [("secrets", "foreign"), ("pods", "p")]


def test_only_host_informers_of_referenced_kinds_get_an_unmarked_twin() -> None:
    """Secrets, configmaps and PVCs on the host do; a virtual cache or host pods do not; a
    kind asked twice gets the same informer."""
    fake = FakeListerWatcher(cluster="host")
    lookup = HostLookup(live=LiveReads(fake), client=fake, translator=T)

    def informer(cluster: str, resource: Resource) -> Informer:
        return Informer(cluster=cluster, client=fake, resource=resource, namespace=NS)

    host_cms = informer("host", CONFIGMAPS)
    twin = lookup.watch_unmarked(host_cms)
    assert twin is not None
    assert twin.name == "host/configmaps/unmanaged"
    assert lookup.watch_unmarked(host_cms) is twin
    probe = Probe(where="host configmaps", ask=lambda: fake.list(CONFIGMAPS, namespace=NS))
    host_pods = informer("host", PODS)
    host_side = [(host_pods, probe), (host_cms, probe)]
    assert lookup.informers_for(host=host_side, served=SERVED) == [(twin, probe)]
    assert lookup.watch_unmarked(informer("virtual", SECRETS)) is None
    assert lookup.watch_unmarked(informer("host", PODS)) is None


async def test_kinds_that_are_off_are_watched_whole_for_the_pods_pipeline() -> None:
    """With only pods (and the secrets they read) served, the host pods informer brings one
    metadata-only informer of every configmap and PVC of the namespace; ours and foreign
    objects are found from it, a missing name is NotFound, and no live GET is made."""
    fake = FakeListerWatcher(cluster="host")
    await fake.create(
        CONFIGMAPS,
        namespace=NS,
        body={"metadata": {"name": "ours", "labels": {MANAGED_BY_LABEL: "vc"}}, "data": {"a": "1"}},
    )
    await fake.create(CONFIGMAPS, namespace=NS, body={"metadata": {"name": "foreign"}})
    await fake.create(CONFIGMAPS, namespace="elsewhere", body={"metadata": {"name": "far"}})
    await fake.create(PVCS, namespace=NS, body={"metadata": {"name": "claim"}, "spec": {}})
    live = LiveReads(fake)
    lookup = HostLookup(live=live, client=fake, translator=T)
    host_pods = Informer(cluster="host", client=fake, resource=PODS, namespace=NS)
    probe = Probe(where="host pods", ask=lambda: fake.list(PODS, namespace=NS))
    more = lookup.informers_for(host=[(host_pods, probe)], served={("", "secrets")})
    assert [(i.resource, p) for i, p in more] == [(CONFIGMAPS, probe), (PVCS, probe)]
    assert [i.name for i, _ in more] == [
        "host/configmaps/lookup",
        "host/persistentvolumeclaims/lookup",
    ]
    # made once: asked again, nothing new
    assert lookup.informers_for(host=[(host_pods, probe)], served={("", "secrets")}) == []
    async with running(*(i for i, _ in more)):
        for informer, _ in more:
            await informer.wait_synced()
        found = await lookup(CONFIGMAPS, name="ours")
        assert "data" not in found
        assert found["metadata"]["labels"] == {MANAGED_BY_LABEL: "vc"}
        assert (await lookup(CONFIGMAPS, name="foreign"))["metadata"]["name"] == "foreign"
        assert (await lookup(PVCS, name="claim"))["metadata"]["name"] == "claim"
        for name in ("far", "missing"):
            with pytest.raises(NotFound):
                await lookup(CONFIGMAPS, name=name)
        assert live.calls == []


def test_metadata_only_keeps_what_a_lookup_reads() -> None:
    """Data, spec and status go; name, labels, annotations and version stay."""
    kept = {
        "name": "s",
        "namespace": NS,
        "uid": "u",
        "resourceVersion": "7",
        "labels": {"a": "1"},
        "annotations": {"b": "2"},
    }
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {**kept, "managedFields": [{"manager": "x"}]},
        "data": {"big": "x" * 1000},
    }
    assert metadata_only(obj) == {"apiVersion": "v1", "kind": "Secret", "metadata": kept}
