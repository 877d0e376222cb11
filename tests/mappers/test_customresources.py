"""Generic custom resources: toHost copies every content field down (unknown ones too) and the
status up; fromHost is the kit's read-only copier; the entry picks which."""

from __future__ import annotations

from typing import Any

from mappers.customresources import ToHostCustomResource, make
from syncer.api import CustomResource, NotFound, ObjectKey, Resource
from syncer.kit import FromHostCopier
from syncer.kit.testing import TRANSLATOR, FakeContext, host_copy

GADGETS = Resource("example.com", "v2", "gadgets", "Gadget")
CLUSTER_GADGETS = Resource("example.com", "v1", "clustergadgets", "ClusterGadget", False)


def _gadget(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v2",
        "kind": "Gadget",
        "metadata": {"name": "g", "namespace": "shop", "uid": "v-uid"},
        **fields,
    }


def _host(**fields: Any) -> dict[str, Any]:
    return {**host_copy(GADGETS, namespace="shop", name="g"), **fields}


def _mapper() -> ToHostCustomResource:
    mapper = make(translator=TRANSLATOR, custom=CustomResource(GADGETS, "toHost"))
    assert isinstance(mapper, ToHostCustomResource)
    return mapper


def test_the_entry_picks_the_mapper() -> None:
    """toHost: the copy syncer of the entry's resource; fromHost: the read-only copier."""
    assert _mapper().resource == GADGETS
    custom = CustomResource(CLUSTER_GADGETS, "fromHost", label_selector="a=b")
    mapper = make(translator=TRANSLATOR, custom=custom)
    assert isinstance(mapper, FromHostCopier)
    assert mapper.resource == CLUSTER_GADGETS
    assert mapper.host_label_selector == "a=b"


def test_every_content_field_goes_down_as_it_is_and_status_does_not() -> None:
    """spec, an unknown top-level field and data pass through; status and metadata do not."""
    v_obj = _gadget(spec={"size": 3, "x-unknown": [1]}, data={"k": "v"}, status={"ready": True})
    fake = FakeContext(virtual={"gadgets": [v_obj]}, enabled=[GADGETS])
    body = _mapper().desired_host(fake.ctx, v_obj, None)
    assert body is not None
    assert body["spec"] == {"size": 3, "x-unknown": [1]}
    assert body["data"] == {"k": "v"}
    assert "status" not in body
    assert body["apiVersion"] == "example.com/v2"
    assert body["metadata"]["name"] == TRANSLATOR.host_name("shop", "g")


async def test_create_update_and_a_dropped_field() -> None:
    """Missing: created; a field removed in virtual is removed from the host copy."""
    mapper = _mapper()
    v_obj = _gadget(spec={"size": 3})
    fake = FakeContext(virtual={"gadgets": [v_obj]}, enabled=[GADGETS])
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert fake.calls == [("host", "create", TRANSLATOR.host_name("shop", "g"))]
    p_obj = _host(spec={"size": 3}, extra={"size": 1})
    body = mapper.updated_host(p_obj, mapper.desired_host(fake.ctx, v_obj, p_obj) or {})
    assert "extra" not in body
    assert body["spec"] == {"size": 3}


async def test_status_comes_up_and_no_status_subresource_is_no_error() -> None:
    """The host copy's status goes to the virtual status; a 404 there (no subresource) is fine."""
    mapper = _mapper()
    v_obj = _gadget(spec={"size": 3})
    p_obj = _host(spec={"size": 3}, status={"phase": "Ready"})
    fake = FakeContext(virtual={"gadgets": [v_obj]}, host={"gadgets": [p_obj]}, enabled=[GADGETS])
    await mapper.sync(fake.ctx, v_obj, p_obj)
    assert fake.calls == [("virtual", "update_status", "g")]
    assert fake.virtual.bodies[-1]["status"] == {"phase": "Ready"}
    fake.recorder.fail[("virtual", "update_status")] = NotFound(status=404)
    await mapper.sync(fake.ctx, v_obj, p_obj)


def test_host_keys_are_the_namespaced_rule() -> None:
    """The host name and the key back are the namespaced-name rule's."""
    p_obj = _host(spec={})
    assert _mapper().host_to_virtual(p_obj) == ObjectKey("gadgets", "shop", "g")
    assert _mapper().is_managed(p_obj)
