"""The public fakes: the host writer's namespace and ownership rule, live reads, failures."""

from __future__ import annotations

import pytest

from syncer.api import (
    CONFIGMAPS,
    NODES,
    PODS,
    SECRETS,
    AlreadyExists,
    HostWriteRefused,
    NotFound,
    NotServed,
    Resource,
    Translator,
    UndeclaredRead,
)
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
    assert fake.ctx.host_cache(CONFIGMAPS).list() == []  # enabled, none given: empty
    with pytest.raises(NotServed):
        fake.ctx.host_cache(NODES)  # not enabled: as when that kind's mapper is off
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


def test_enabled_kinds_default_to_the_built_in_kinds_named_and_a_test_may_say_them() -> None:
    """serves() answers from the enabled kinds: by default the built-in plurals given."""
    named = FakeContext(virtual={"pods": [], "widgets": []}, host={"secrets": []})
    assert named.ctx.serves(PODS)
    assert named.ctx.serves(SECRETS)
    assert not named.ctx.serves(NODES)
    assert not named.ctx.serves(CONFIGMAPS)
    widgets = Resource("example.com", "v1", "widgets", "Widget")
    assert not named.ctx.serves(widgets)  # a plugin's kind is enabled only when said
    said = FakeContext(virtual={"pods": []}, enabled=[NODES, widgets])
    assert said.ctx.serves(NODES)
    assert said.ctx.serves(widgets)
    assert not said.ctx.serves(PODS)
    assert said.ctx.virtual_cache(PODS).list() == []  # a virtual cache still reads as empty
    with pytest.raises(NotServed):
        said.ctx.host_cache(PODS)


def test_declared_reads_are_enforced_on_both_clusters_before_existence() -> None:
    """With reads given, any other cache raises UndeclaredRead (terminal), as at run time."""
    fake = FakeContext(virtual={"pods": []}, enabled=[PODS, NODES], reads=[PODS])
    assert fake.ctx.host_cache(PODS).list() == []
    with pytest.raises(UndeclaredRead):
        fake.ctx.virtual_cache(CONFIGMAPS)
    with pytest.raises(UndeclaredRead):
        fake.ctx.host_cache(NODES)  # enabled, but not declared
