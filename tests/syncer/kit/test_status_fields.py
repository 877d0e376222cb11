"""CopySyncer.status_fields: host fields go up to the virtual object, one write if they differ."""

from __future__ import annotations

from typing import Any

from syncer.api import CONFIGMAPS, DONE, Resource, thaw
from syncer.kit import CopySyncer
from syncer.kit.testing import TRANSLATOR, FakeContext

Json = dict[str, Any]
THINGS = Resource("example.com", "v1", "things", "Thing")


class Things(CopySyncer):
    synced_fields = ("spec",)
    status_fields = ("status",)

    def __init__(self) -> None:
        super().__init__(resource=THINGS, translator=TRANSLATOR)


def v_thing(**status: str) -> Json:
    obj: Json = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"namespace": "shop", "name": "a", "uid": "v-uid", "resourceVersion": "7"},
        "spec": {"size": 1},
    }
    if status:
        obj["status"] = dict(status)
    return obj


def p_thing(mapper: Things, v_obj: Json, **status: str) -> Json:
    body = mapper.desired_host(FakeContext().ctx, v_obj, None)
    assert body is not None
    body["metadata"]["uid"] = "p-uid"
    if status:
        body["status"] = dict(status)
    return body


async def test_host_status_is_written_up_through_the_status_subresource() -> None:
    mapper, v_obj = Things(), v_thing()
    p_obj = p_thing(mapper, v_obj, phase="Ready")
    fake = FakeContext(virtual={"things": [v_obj]})
    assert await mapper.sync(fake.ctx, v_obj, p_obj) == DONE
    assert fake.calls == [("virtual", "update_status", "a")]
    (body,) = fake.virtual.bodies
    assert body["status"] == {"phase": "Ready"}
    assert body["metadata"]["resourceVersion"] == "7"  # a stale view conflicts, never overwrites
    assert body["spec"] == v_obj["spec"]


async def test_equal_status_writes_nothing_and_a_status_gone_on_the_host_goes_up() -> None:
    mapper = Things()
    same = v_thing(phase="Ready")
    fake = FakeContext()
    assert await mapper.sync(fake.ctx, same, p_thing(mapper, same, phase="Ready")) == DONE
    assert fake.calls == []
    gone = FakeContext()
    assert await mapper.sync(gone.ctx, same, p_thing(mapper, same)) == DONE
    assert gone.calls == [("virtual", "update_status", "a")]
    assert "status" not in gone.virtual.bodies[0]


async def test_status_never_goes_down_and_is_no_drift() -> None:
    mapper = Things()
    v_obj = v_thing(phase="Virtual")
    assert "status" not in (mapper.desired_host(FakeContext().ctx, v_obj, None) or {})
    p_obj = p_thing(mapper, v_obj, phase="Host")
    assert mapper.drift(FakeContext().ctx, v_obj, p_obj) is None


async def test_spec_change_updates_the_host_then_status_goes_up_from_the_updated_copy() -> None:
    mapper = Things()
    v_obj = v_thing()
    p_obj = p_thing(mapper, v_obj, phase="Ready")
    v_obj["spec"] = {"size": 2}
    fake = FakeContext()
    assert await mapper.sync(fake.ctx, v_obj, p_obj) == DONE
    name = TRANSLATOR.host_name("shop", "a")
    assert fake.calls == [("host", "update", name), ("virtual", "update_status", "a")]
    assert fake.host.updated[0]["spec"] == {"size": 2}
    assert fake.virtual.bodies[0]["status"] == {"phase": "Ready"}


async def test_without_status_fields_nothing_goes_up() -> None:
    class Plain(CopySyncer):
        synced_fields = ("data",)

    mapper = Plain(resource=CONFIGMAPS, translator=TRANSLATOR)
    v_obj: Json = {"metadata": {"namespace": "shop", "name": "c", "uid": "u"}, "data": {"k": "1"}}
    p_obj = thaw(mapper.desired_host(FakeContext().ctx, v_obj, None) or {})
    p_obj["status"] = {"x": "y"}
    fake = FakeContext()
    assert await mapper.sync(fake.ctx, v_obj, p_obj) == DONE
    assert fake.calls == []
