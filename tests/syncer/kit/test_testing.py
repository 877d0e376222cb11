"""The public fakes: the host writer's namespace and ownership rule, live reads, failures."""

from __future__ import annotations

import pytest

from syncer.api import CONFIGMAPS, NODES, AlreadyExists, HostWriteRefused, NotFound, Translator
from syncer.kit.testing import TRANSLATOR, FakeContext, foreign, host_copy


async def test_the_fake_host_writes_only_our_objects_in_the_host_namespace() -> None:
    fake = FakeContext()
    ours = host_copy(CONFIGMAPS, namespace="shop", name="a")
    await fake.ctx.host.create(CONFIGMAPS, body=ours)
    with pytest.raises(HostWriteRefused):
        await fake.ctx.host.create(CONFIGMAPS, body=foreign(CONFIGMAPS, name="x"))
    elsewhere = host_copy(CONFIGMAPS, namespace="shop", name="b")
    elsewhere["metadata"]["namespace"] = "kube-system"
    with pytest.raises(HostWriteRefused):
        await fake.ctx.host.create(CONFIGMAPS, body=elsewhere)
    other_vcluster = host_copy(
        CONFIGMAPS,
        namespace="shop",
        name="c",
        translator=Translator(vcluster="other", host_namespace=TRANSLATOR.host_namespace),
    )
    with pytest.raises(HostWriteRefused):
        await fake.ctx.host.delete(CONFIGMAPS, current=other_vcluster)
    renamed = host_copy(CONFIGMAPS, namespace="shop", name="d")
    with pytest.raises(HostWriteRefused):
        await fake.ctx.host.update(CONFIGMAPS, current=ours, body=renamed)
    assert fake.calls == [("host", "create", ours["metadata"]["name"])]


async def test_an_extra_ownership_rule_admits_what_it_names() -> None:
    fake = FakeContext(also_owned=lambda resource, obj: obj["metadata"]["name"] == "special")
    await fake.ctx.host.create(CONFIGMAPS, body=foreign(CONFIGMAPS, name="special"))
    with pytest.raises(HostWriteRefused):
        await fake.ctx.host.create(CONFIGMAPS, body=foreign(CONFIGMAPS, name="plain"))
    assert fake.calls == [("host", "create", "special")]


async def test_reads_caches_failures_and_events() -> None:
    v_obj = {"metadata": {"namespace": "shop", "name": "a", "uid": "u"}}
    p_obj = host_copy(CONFIGMAPS, namespace="shop", name="a", uid="u")
    fake = FakeContext(virtual={"configmaps": [v_obj]}, host_live=[p_obj])
    assert fake.ctx.virtual_cache(CONFIGMAPS).get("shop", "a") == v_obj
    assert fake.ctx.virtual_cache(NODES).list() == []
    with pytest.raises(KeyError):
        fake.ctx.host_cache(CONFIGMAPS)  # no host cache given: as when that kind's mapper is off
    assert await fake.ctx.virtual.get(CONFIGMAPS, namespace="shop", name="a") == v_obj
    with pytest.raises(AlreadyExists):
        await fake.ctx.virtual.create(CONFIGMAPS, namespace="shop", body=v_obj)
    await fake.ctx.virtual.delete(CONFIGMAPS, namespace="shop", name="a")
    with pytest.raises(NotFound):
        await fake.ctx.virtual.get(CONFIGMAPS, namespace="shop", name="a")
    assert fake.ctx.host_read is not None
    assert await fake.ctx.host_read(CONFIGMAPS, name=p_obj["metadata"]["name"]) == p_obj
    fake.recorder.fail[("host", "create")] = NotFound(status=404)
    with pytest.raises(NotFound):
        await fake.ctx.host.create(CONFIGMAPS, body=p_obj)
    await fake.ctx.record_event(v_obj, type_="Warning", reason="SyncError", message="m")
    assert fake.events == [("Warning", "SyncError")]
