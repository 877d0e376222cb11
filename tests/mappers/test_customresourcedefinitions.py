"""The CRD copier: only configured CRDs, one version, no conversion webhook, misfits not copied,
the tenant's own CRD untouched, a copy never deleted."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.customresourcedefinitions import DefinitionCopier, copied_spec, make
from syncer.api import CRDS, DONE, CustomResource, Invalid, MapperConfig, ObjectKey, Resource
from syncer.kit import FROM_HOST_LABEL
from syncer.kit.testing import TRANSLATOR, FakeContext

GADGETS = CustomResource(Resource("example.com", "v2", "gadgets", "Gadget"), "toHost")
SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def host_crd(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com", "uid": "h", "labels": {"owner": "platform"}},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": SCHEMA},
                {
                    "name": "v2",
                    "served": True,
                    "storage": False,
                    "schema": SCHEMA,
                    "subresources": {"status": {}},
                },
            ],
            "conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"url": "x"}}},
            **spec,
        },
    }


def _copier() -> DefinitionCopier:
    return make(translator=TRANSLATOR, config=MapperConfig(custom_resources=(GADGETS,)))


def test_the_copy_has_the_entrys_version_only_and_no_conversion() -> None:
    """One version (served, storage) with its schema and subresources; conversion None."""
    spec = copied_spec(host_crd(), GADGETS)
    assert spec is not None
    assert spec["versions"] == [
        {
            "name": "v2",
            "served": True,
            "storage": True,
            "schema": SCHEMA,
            "subresources": {"status": {}},
        }
    ]
    assert spec["conversion"] == {"strategy": "None"}
    assert spec["names"]["kind"] == "Gadget"


@pytest.mark.parametrize(
    "changes",
    [
        {"scope": "Cluster"},
        {"names": {"plural": "gadgets", "kind": "Widget"}},
        {"versions": [{"name": "v2", "served": False, "storage": True}]},
        {"versions": [{"name": "v1", "served": True, "storage": True}]},
    ],
)
def test_a_crd_that_does_not_fit_the_entry_is_not_copied(changes: dict[str, Any]) -> None:
    """Another scope or kind, or the entry's version not served: no copy."""
    assert copied_spec(host_crd(**changes), GADGETS) is None


def test_only_configured_crds_have_keys() -> None:
    """Other host CRDs map to no key; configured ones by name."""
    other = {"metadata": {"name": "widgets.example.com"}}
    assert _copier().host_to_virtual(other) is None
    assert _copier().host_to_virtual(host_crd()) == ObjectKey(CRDS.plural, "", GADGETS.name)
    assert _copier().virtual_to_host(ObjectKey(CRDS.plural, "", "widgets.example.com")) is None


async def test_created_with_the_label_and_never_deleted() -> None:
    """Missing: created with the from-host label; host CRD gone: the copy stays."""
    fake = FakeContext(host={"customresourcedefinitions": [host_crd()]}, enabled=[CRDS])
    key = ObjectKey(CRDS.plural, "", GADGETS.name)
    assert await _copier().sync_to_virtual(fake.ctx, key, host_crd()) == DONE
    assert fake.calls == [("virtual", "create", GADGETS.name)]
    body = fake.virtual.bodies[0]
    assert body["metadata"]["labels"] == {FROM_HOST_LABEL: "true"}
    assert await _copier().sync_to_host(fake.ctx, body) == DONE
    assert len(fake.calls) == 1


async def test_a_tenant_edit_is_reverted_and_the_tenants_own_crd_untouched() -> None:
    """A copy whose spec differs is updated; a CRD without the label is left alone."""
    spec = copied_spec(host_crd(), GADGETS)
    assert spec is not None
    edited = {
        "metadata": {"name": GADGETS.name, "labels": {FROM_HOST_LABEL: "true"}},
        "spec": {**spec, "scope": "Cluster"},
    }
    fake = FakeContext(enabled=[CRDS])
    await _copier().sync(fake.ctx, edited, host_crd())
    assert fake.calls == [("virtual", "update", GADGETS.name)]
    assert fake.virtual.bodies[0]["spec"] == spec
    own = {"metadata": {"name": GADGETS.name}, "spec": {"scope": "Cluster"}}
    fake = FakeContext(enabled=[CRDS])
    await _copier().sync(fake.ctx, own, host_crd())
    assert fake.calls == []


async def test_a_misfit_host_crd_writes_nothing() -> None:
    """A host CRD of another kind than the entry says: no create, no update."""
    misfit = host_crd(scope="Cluster")
    key = ObjectKey(CRDS.plural, "", GADGETS.name)
    fake = FakeContext(enabled=[CRDS])
    assert await _copier().sync_to_virtual(fake.ctx, key, misfit) == DONE
    copy = {"metadata": {"name": GADGETS.name, "labels": {FROM_HOST_LABEL: "true"}}, "spec": {}}
    assert await _copier().sync(fake.ctx, copy, misfit) == DONE
    assert fake.calls == []


async def test_a_host_change_the_copy_cannot_take_never_deletes_it() -> None:
    """The virtual API server refuses the update (an immutable field): the copy stays."""
    copy = {"metadata": {"name": GADGETS.name, "labels": {FROM_HOST_LABEL: "true"}}, "spec": {}}
    fake = FakeContext(enabled=[CRDS])
    fake.recorder.fail[("virtual", "update")] = Invalid(status=422)
    assert await _copier().sync(fake.ctx, copy, host_crd()) == DONE
    assert fake.calls == []
