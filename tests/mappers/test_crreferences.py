"""Reference patches of toHost custom resources: the field becomes the host name in the object's
own namespace, the named secret or configmap is synced while referenced, and the object waits
until what it names is on the host."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.configmaps import ConfigMapMapper
from mappers.crpatches import Reference, apply_patches, reference_index, references
from mappers.customresources import ToHostCustomResource, make
from mappers.secrets import SecretMapper
from syncer.api import (
    CONFIGMAPS,
    SECRETS,
    CustomResource,
    FieldPatch,
    MapperConfig,
    ObjectKey,
    Refused,
    Resource,
)
from syncer.kit.testing import TRANSLATOR, FakeContext, host_copy

WIDGETS = Resource("example.com", "v1", "widgets", "Widget")
SECRET_REF = FieldPatch(path="spec.secretRef.name", type="reference", kind="secrets")
TARGETS = FieldPatch(path="spec.targets[*].config", type="reference", kind="configmaps")
CUSTOM = CustomResource(WIDGETS, "toHost", patches=(SECRET_REF, TARGETS))
CONFIG = MapperConfig(
    kinds=("secrets", "configmaps", WIDGETS.qualified), custom_resources=(CUSTOM,)
)


def widget(name: str = "w", *, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": WIDGETS.api_version,
        "kind": WIDGETS.kind,
        "metadata": {"name": name, "namespace": namespace, "uid": f"{name}-uid"},
        "spec": spec,
    }


def secret(name: str, *, namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "uid": f"{name}-uid"},
        "data": {},
    }


def _mapper(config: MapperConfig = CONFIG) -> ToHostCustomResource:
    mapper = make(translator=TRANSLATOR, custom=CUSTOM, config=config)
    assert isinstance(mapper, ToHostCustomResource)
    return mapper


def test_the_field_becomes_the_host_name_in_the_objects_namespace() -> None:
    """Every list element too; nothing else changes."""
    body = {"spec": {"secretRef": {"name": "db"}, "targets": [{"config": "a"}, {"config": "b"}]}}
    out = apply_patches(body, (SECRET_REF, TARGETS), namespace="shop", translator=TRANSLATOR)
    assert out["spec"]["secretRef"]["name"] == TRANSLATOR.host_name("shop", "db")
    assert [t["config"] for t in out["spec"]["targets"]] == [
        TRANSLATOR.host_name("shop", "a"),
        TRANSLATOR.host_name("shop", "b"),
    ]


@pytest.mark.parametrize("value", ["other/db", "../db", "DB", "", 7, {"name": "db"}, "a" * 254])
def test_a_value_that_is_not_a_plain_name_is_refused(value: Any) -> None:
    """No namespace-qualified or otherwise crafted value reaches the host."""
    body = {"spec": {"secretRef": {"name": value}}}
    with pytest.raises(Refused) as caught:
        apply_patches(body, (SECRET_REF,), namespace="shop", translator=TRANSLATOR)
    assert caught.value.reason == "custom_resource_patch"
    assert "spec.secretRef.name" in caught.value.message
    assert references(body, (SECRET_REF,)) == []


_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@given(name=st.lists(_LABEL, min_size=1, max_size=3).map(".".join))
def test_a_reference_always_lands_in_this_namespace_of_this_vcluster(name: str) -> None:
    """The host name is the namespaced-name rule's for the object's own namespace."""
    body = {"spec": {"secretRef": {"name": name}}}
    out = apply_patches(body, (SECRET_REF,), namespace="shop", translator=TRANSLATOR)
    assert out["spec"]["secretRef"]["name"] == TRANSLATOR.host_name("shop", name)
    assert references(body, (SECRET_REF,)) == [
        Reference(field="spec.secretRef.name", kind="secrets", name=name)
    ]


def test_the_index_files_what_each_kind_names() -> None:
    """Of a cached object (read-only at the top, as the store hands it out) too."""
    mapper = _mapper()
    v_obj = MappingProxyType(
        widget(secretRef={"name": "db"}, targets=[{"config": "a"}, {"config": "a"}])
    )
    indexes = mapper.indexes()
    assert list(indexes[reference_index("secrets")](v_obj)) == ["shop/db"]
    assert list(indexes[reference_index("configmaps")](v_obj)) == ["shop/a"]


async def test_it_waits_with_a_warning_until_the_secret_is_on_the_host() -> None:
    """Missing in virtual, then missing on the host: refused with WaitingForReferences,
    retried; once the host copy is there the object is created, pointing at it."""
    v_obj = widget(secretRef={"name": "db"})
    fake = FakeContext(virtual={"widgets": [v_obj]}, enabled=[WIDGETS, SECRETS, CONFIGMAPS])
    mapper = fake.bind(_mapper())
    for _ in range(2):
        with pytest.raises(Refused) as caught:
            await mapper.sync_to_host(fake.ctx, v_obj)
        assert caught.value.reason == "reference_missing"
        assert caught.value.event_reason == "WaitingForReferences"
        assert caught.value.retry_after is not None
        assert "secret 'db' (spec.secretRef.name)" in caught.value.message
        fake.virtual_caches["secrets"].put(secret("db"))  # then still not on the host
    fake.host_caches["secrets"].put(host_copy(SECRETS, namespace="shop", name="db"))
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert fake.calls == [("host", "create", TRANSLATOR.host_name("shop", "w"))]
    assert fake.host.created[-1]["spec"]["secretRef"]["name"] == TRANSLATOR.host_name("shop", "db")


async def test_a_kind_that_is_not_synced_is_refused_until_the_object_changes() -> None:
    v_obj = widget(secretRef={"name": "db"})
    fake = FakeContext(virtual={"widgets": [v_obj]}, enabled=[WIDGETS])
    mapper = fake.bind(_mapper(MapperConfig(kinds=(WIDGETS.qualified,))))
    assert mapper.references.watches() == {}
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, v_obj)
    assert (caught.value.reason, caught.value.retry_after) == ("reference_kind_off", None)


def test_a_change_of_a_named_secret_enqueues_the_objects_naming_it() -> None:
    naming, other = widget("a", secretRef={"name": "db"}), widget("b", secretRef={"name": "x"})
    fake = FakeContext(virtual={"widgets": [naming, other]}, enabled=[WIDGETS, SECRETS])
    mapper = _mapper()
    for name, fn in mapper.indexes().items():
        fake.virtual_caches["widgets"].indexes[name] = fn
    fake.bind(mapper)
    keys = mapper.watches()[SECRETS](secret("db"))
    assert list(keys) == [ObjectKey(WIDGETS.plural, "shop", "a")]


@pytest.mark.parametrize(
    ("resource", "factory"), [(SECRETS, SecretMapper), (CONFIGMAPS, ConfigMapMapper)]
)
async def test_a_secret_or_configmap_named_by_a_custom_resource_is_synced_while_named(
    resource: Resource, factory: Any
) -> None:
    """Named: copied to the host; no longer named (and no pod refers to it): deleted."""
    field = (
        {"secretRef": {"name": "db"}} if resource == SECRETS else {"targets": [{"config": "db"}]}
    )
    v_obj = {**secret("db"), "apiVersion": "v1", "kind": resource.kind}
    fake = FakeContext(
        virtual={"widgets": [widget(**field)], resource.plural: [v_obj], "pods": []},
        enabled=[WIDGETS, SECRETS, CONFIGMAPS],
    )
    for name, fn in _mapper().indexes().items():
        fake.virtual_caches["widgets"].indexes[name] = fn
    mapper = fake.bind(factory(translator=TRANSLATOR, config=CONFIG))
    assert WIDGETS in mapper.may_read
    assert list(mapper.watches()[WIDGETS](widget(**field))) == [
        ObjectKey(resource.plural, "shop", "db")
    ]
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert fake.calls == [("host", "create", TRANSLATOR.host_name("shop", "db"))]
    fake.virtual_caches["widgets"].put(widget())  # the reference is gone
    p_obj = host_copy(resource, namespace="shop", name="db", uid=v_obj["metadata"]["uid"])
    await mapper.sync(fake.ctx, v_obj, p_obj)
    assert fake.calls[-1] == ("host", "delete(grace=None)", TRANSLATOR.host_name("shop", "db"))


async def test_without_reference_patches_nothing_changes_for_secrets() -> None:
    """A secret no pod and no custom resource names is not synced; no custom kind is watched."""
    mapper = SecretMapper(translator=TRANSLATOR, config=MapperConfig(kinds=("secrets",)))
    fake = FakeContext(virtual={"secrets": [secret("db")], "pods": []}, enabled=[SECRETS])
    fake.bind(mapper)
    assert set(mapper.watches()) == {Resource("", "v1", "pods", "Pod")}
    await mapper.sync_to_host(fake.ctx, secret("db"))
    assert fake.calls == []
