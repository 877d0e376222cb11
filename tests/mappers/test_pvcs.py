"""PersistentVolumeClaims: a claim clones or restores only its own namespace's claims."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.pvcs import DATA_SOURCE_RETRY, PersistentVolumeClaimMapper, host_claim_spec
from syncer.api import PVCS, Refused
from tests.mappers.fakes import Fake, T, foreign, host_copy

Json = dict[str, Any]


def claim(namespace: str, name: str, **spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "uid": f"{namespace}-{name}"},
        "spec": {"accessModes": ["ReadWriteOnce"], **spec},
    }


def source(name: str, **extra: str) -> Json:
    return {"kind": "PersistentVolumeClaim", "name": name, **extra}


SNAPSHOT = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "nightly"}
POPULATOR = {"apiGroup": "populator.example.com", "kind": "Widget", "name": "w"}

#: (field, source, why): refused until the claim changes.
UNSYNCED_SOURCES = [
    ("dataSource", SNAPSHOT, "kind 'VolumeSnapshot' is not synced"),
    ("dataSourceRef", SNAPSHOT, "kind 'VolumeSnapshot' is not synced"),
    ("dataSourceRef", POPULATOR, "kind 'Widget' is not synced"),
    ("dataSourceRef", source("d", namespace="kube-system"), "another namespace"),
    ("dataSource", {"kind": "PersistentVolumeClaim", "apiGroup": "x.io", "name": "d"}, "kind"),
]


@pytest.mark.parametrize(("field", "ref", "why"), UNSYNCED_SOURCES)
async def test_a_source_vsyncer_does_not_sync_is_refused(field: str, ref: Json, why: str) -> None:
    """The name would resolve to whatever host object of the host namespace has it."""
    fake = Fake(host={"persistentvolumeclaims": []})
    mapper = PersistentVolumeClaimMapper(translator=T)
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, claim("c", "thief", **{field: ref}))
    assert (caught.value.reason, caught.value.retry_after) == ("data_source", None)
    assert caught.value.message.startswith(f"spec.{field}")
    assert why in caught.value.message
    assert fake.calls == []


async def test_a_colliding_source_claim_of_another_namespace_is_never_cloned() -> None:
    """c's 'd-x-b' has the host name of b-x-c's d, whose copy is there: refused, retried."""
    theirs = host_copy(PVCS, namespace="b-x-c", name="d")
    fake = Fake(host={"persistentvolumeclaims": [theirs]})
    mapper = PersistentVolumeClaimMapper(translator=T)
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, claim("c", "thief", dataSource=source("d-x-b")))
    assert (caught.value.reason, caught.value.retry_after) == ("data_source", DATA_SOURCE_RETRY)
    assert caught.value.message == (
        f"spec.dataSource.name: claim 'd-x-b': host claim {T.host_name('c', 'd-x-b')} "
        "belongs to another virtual object"
    )
    assert fake.calls == []


async def test_a_foreign_host_claim_under_the_source_name_is_never_cloned() -> None:
    """Seen by a live read (the cache holds only marked objects)."""
    p_name = T.host_name("c", "d")
    fake = Fake(host={"persistentvolumeclaims": []}, host_live=[foreign(PVCS, name=p_name)])
    mapper = PersistentVolumeClaimMapper(translator=T)
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, claim("c", "clone", dataSourceRef=source("d")))
    assert caught.value.reason == "data_source"
    assert fake.calls == [("host", "get", p_name)]


async def test_an_ambiguous_source_without_a_copy_waits() -> None:
    fake = Fake(host={"persistentvolumeclaims": []})
    mapper = PersistentVolumeClaimMapper(translator=T)
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, claim("c", "clone", dataSource=source("d-x-b")))
    assert (caught.value.reason, caught.value.retry_after) == ("data_source", DATA_SOURCE_RETRY)
    assert "waiting for the copy" in caught.value.message


@pytest.mark.parametrize("with_copy", [True, False], ids=["copy", "no-copy-yet"])
async def test_an_own_source_claim_is_cloned_under_its_host_name(with_copy: bool) -> None:
    """Its own copy, or an unambiguous name nobody else's claim can take."""
    ours = host_copy(PVCS, namespace="c", name="d", uid="c-d")
    fake = Fake(host={"persistentvolumeclaims": [ours] if with_copy else []})
    mapper = PersistentVolumeClaimMapper(translator=T)
    v_claim = claim("c", "clone", dataSource=source("d"), dataSourceRef=source("d"))
    await mapper.sync_to_host(fake.ctx, v_claim)
    created = fake.host.created[-1]
    assert created["metadata"]["name"] == T.host_name("c", "clone")
    for field in ("dataSource", "dataSourceRef"):
        assert created["spec"][field] == source(T.host_name("c", "d"))


def test_only_claim_sources_are_renamed() -> None:
    spec = {"dataSource": dict(SNAPSHOT), "dataSourceRef": source("d"), "volumeName": "pv-1"}
    host = host_claim_spec(spec, namespace="c", translator=T)
    assert host == {"dataSource": SNAPSHOT, "dataSourceRef": source(T.host_name("c", "d"))}
