"""The fromHost copier: a host object's read-only copy, its updates and deletion, tenant edits
reverted, the tenant's own objects untouched (table of before/after on both sides)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.api import DONE, STORAGECLASSES, Invalid, ObjectKey, Result
from syncer.kit import FROM_HOST_LABEL, FromHostCopier, is_copy
from syncer.kit.testing import TRANSLATOR, FakeContext
from syncer.resources import PODS

KEY = ObjectKey("storageclasses", "", "fast")


def _host(**fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "fast",
            "uid": "host-uid",
            "resourceVersion": "7",
            "labels": {"tier": "ssd"},
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "csi.example.com",
        "reclaimPolicy": "Delete",
    }
    obj.update(fields)
    return obj


def _copier(selector: str | None = None) -> FromHostCopier:
    return FromHostCopier(resource=STORAGECLASSES, translator=TRANSLATOR, label_selector=selector)


def _fake(virtual: list[dict[str, Any]], host: list[dict[str, Any]]) -> FakeContext:
    return FakeContext(
        virtual={"storageclasses": virtual}, host={"storageclasses": host}, enabled=[STORAGECLASSES]
    )


def _copy_of(p_obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = _copier().virtual_copy(p_obj)
    body["metadata"] = {**body["metadata"], "uid": "v-uid", "resourceVersion": "3", **changes}
    return body


def test_copy_is_the_host_object_with_the_label_and_no_server_metadata() -> None:
    """Labels, annotations and content as on the host; name kept; uid/resourceVersion dropped."""
    body = _copier().virtual_copy(_host())
    assert body == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "fast",
            "labels": {"tier": "ssd", FROM_HOST_LABEL: "true"},
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "csi.example.com",
        "reclaimPolicy": "Delete",
    }
    assert is_copy(body)


def test_names_are_the_same_on_both_sides_and_host_objects_are_only_read() -> None:
    """Cluster-scoped key by name both ways; every host object counts as managed (read only)."""
    copier = _copier("tier=ssd")
    assert copier.virtual_to_host(KEY) == "fast"
    assert copier.host_to_virtual(_host()) == KEY
    assert copier.is_managed(_host())
    assert copier.host_label_selector == "tier=ssd"
    assert copier.host_selects_managed is False


def test_a_namespaced_kind_is_refused() -> None:
    """fromHost copies are cluster-scoped on both sides."""
    with pytest.raises(ValueError, match="namespaced"):
        FromHostCopier(resource=PODS, translator=TRANSLATOR)


async def test_a_missing_copy_is_created() -> None:
    """Host object only: the copy is created in the virtual cluster."""
    fake = _fake([], [_host()])
    assert await _copier().sync_to_virtual(fake.ctx, KEY, _host()) == DONE
    assert fake.calls == [("virtual", "create", "fast")]
    assert fake.virtual.bodies == [_copier().virtual_copy(_host())]


async def test_a_copy_in_sync_is_left_alone() -> None:
    """Both sides equal: no write."""
    p_obj = _host()
    fake = _fake([_copy_of(p_obj)], [p_obj])
    assert await _copier().sync(fake.ctx, _copy_of(p_obj), p_obj) == DONE
    assert fake.calls == []


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"labels": {"tier": "hdd", FROM_HOST_LABEL: "true"}}, "labels"),
        ({"annotations": {}}, "annotations"),
    ],
)
async def test_a_tenant_edit_of_the_metadata_is_reverted(edit: dict[str, Any], field: str) -> None:
    """A tenant's change to the copy's labels or annotations is written back to the host's."""
    p_obj = _host()
    v_obj = _copy_of(p_obj, **edit)
    fake = _fake([v_obj], [p_obj])
    await _copier().sync(fake.ctx, v_obj, p_obj)
    assert fake.calls == [("virtual", "update", "fast")]
    sent = fake.virtual.bodies[0]
    assert sent["metadata"][field] == _copier().virtual_copy(p_obj)["metadata"][field]
    assert sent["metadata"]["resourceVersion"] == "3"


async def test_host_changes_reach_the_copy_and_removed_fields_go() -> None:
    """A field changed on the host is updated; one the host dropped is removed from the copy."""
    old = _host(allowVolumeExpansion=True)
    new = _host(mountOptions=["ro"])
    v_obj = _copy_of(old)
    fake = _fake([v_obj], [new])
    await _copier().sync(fake.ctx, v_obj, new)
    sent = fake.virtual.bodies[0]
    assert sent["mountOptions"] == ["ro"]
    assert "allowVolumeExpansion" not in sent


async def test_the_tenants_own_object_is_never_touched() -> None:
    """A virtual object of that name without the copy label: no write, either way."""
    own = {"metadata": {"name": "fast", "uid": "t"}, "provisioner": "mine"}
    fake = _fake([own], [_host()])
    assert await _copier().sync(fake.ctx, own, _host()) == DONE
    assert await _copier().sync_to_host(fake.ctx, own) == DONE
    assert fake.calls == []


async def test_a_copy_whose_host_object_is_gone_is_deleted() -> None:
    """Virtual copy only: deleted (UID-preconditioned)."""
    v_obj = _copy_of(_host())
    fake = _fake([v_obj], [])
    assert await _copier().sync_to_host(fake.ctx, v_obj) == DONE
    assert fake.calls == [("virtual", "delete(grace=None)", "fast")]


async def test_an_update_refused_for_an_immutable_field_replaces_the_copy() -> None:
    """The virtual API server refuses the update (provisioner changed): delete, then requeue."""
    v_obj = _copy_of(_host())
    new = _host(provisioner="other.example.com")
    fake = _fake([v_obj], [new])
    fake.recorder.fail[("virtual", "update")] = Invalid(status=422)
    assert await _copier().sync(fake.ctx, v_obj, new) == Result(requeue=True)
    assert fake.calls == [("virtual", "delete(grace=None)", "fast")]


async def test_status_reaches_the_copy() -> None:
    """A host status differing from the copy's is written (in the update; through the status
    subresource only when the server ignored it there, which this fake does not)."""
    p_obj = _host(status={"phase": "Ready"})
    v_obj = _copy_of(_host())
    fake = _fake([v_obj], [p_obj])
    await _copier().sync(fake.ctx, v_obj, p_obj)
    assert fake.calls == [("virtual", "update", "fast")]
    assert fake.virtual.bodies[-1]["status"] == {"phase": "Ready"}


_labels = st.dictionaries(
    st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.from_regex(r"[a-z0-9]{0,8}", fullmatch=True)
)


@given(host_labels=_labels, tenant_labels=_labels)
def test_reverting_any_label_edit_gives_the_host_labels_plus_the_marker(
    host_labels: dict[str, str], tenant_labels: dict[str, str]
) -> None:
    """Whatever labels a tenant puts on a copy, the update restores exactly the host's + marker."""
    copier = _copier()
    p_obj = _host()
    p_obj["metadata"] = {**p_obj["metadata"], "labels": host_labels}
    v_obj = _copy_of(p_obj, labels=tenant_labels)
    body = copier.updated_copy(v_obj, copier.virtual_copy(p_obj))
    assert body["metadata"]["labels"] == {**host_labels, FROM_HOST_LABEL: "true"}


async def test_a_create_over_an_object_the_cache_does_not_show_yet_is_retried() -> None:
    """The virtual cache lags (the name is taken live): no overwrite, the key is looked at again."""
    own = {"metadata": {"name": "fast", "uid": "t"}, "provisioner": "mine"}
    fake = _fake([own], [_host()])
    assert await _copier().sync_to_virtual(fake.ctx, KEY, _host()) == Result(requeue=True)
    assert fake.calls == [("virtual", "create", "fast")]
