"""fromHost events: host events re-pointed at virtual objects (fake nodes: test_nodes)."""

from __future__ import annotations

import time
from typing import Any

from mappers.events import HOST_EVENT_ANNOTATION, EventMapper, virtual_event
from mappers.tokens import format_time
from syncer.api import PODS, ObjectKey
from syncer.kit import host_metadata
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
P_NAME = T.host_name("shop", "web")
V_POD: Json = {"metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"}, "spec": {}}
P_POD: Json = {
    "metadata": {**host_metadata(translator=T, resource=PODS, v_obj=V_POD), "uid": "p-uid"}
}


def p_event(*, kind: str = "Pod", name: str = P_NAME, namespace: str = "host-ns") -> Json:
    return {
        "metadata": {"name": f"{name}.abc", "namespace": "host-ns", "uid": "e-uid"},
        "involvedObject": {
            "kind": kind,
            "name": name,
            "namespace": namespace,
            "uid": "p-uid",
            "fieldPath": "spec.containers{main}",
        },
        "reason": "Scheduled",
        "message": f"Successfully assigned host-ns/{name} to node-1",
        "type": "Normal",
        "count": 1,
        "lastTimestamp": format_time(time.time()),
    }


def test_event_keys_name_the_host_event() -> None:
    """Host events about synced kinds in the host namespace map to (events, "", name)."""
    mapper = EventMapper(translator=T)
    assert mapper.host_to_virtual(p_event()) == ObjectKey("events", "", f"{P_NAME}.abc")
    assert mapper.host_to_virtual(p_event(kind="Deployment")) is None
    assert mapper.host_to_virtual(p_event(namespace="other")) is None
    assert mapper.virtual_to_host(ObjectKey("events", "", "e")) == "e"
    assert mapper.virtual_to_host(ObjectKey("events", "shop", "e")) is None


def test_virtual_event_points_at_the_virtual_object() -> None:
    """Involved object, message and marker annotation are the virtual side's."""
    event = virtual_event(
        p_event(), v_obj=V_POD, resource=PODS, p_name=P_NAME, host_namespace="host-ns"
    )
    assert event["metadata"]["namespace"] == "shop"
    assert event["metadata"]["annotations"] == {HOST_EVENT_ANNOTATION: "e-uid"}
    assert event["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "web",
        "namespace": "shop",
        "uid": "v-uid",
        "fieldPath": "spec.containers{main}",
    }
    assert event["message"] == "Successfully assigned shop/web to node-1"


async def test_event_reconcile_creates_updates_and_respects_foreign_events() -> None:
    """New → created in virtual; changed → updated; a same-named event not ours → untouched."""
    mapper = EventMapper(translator=T)
    key = ObjectKey("events", "", f"{P_NAME}.abc")
    fake = Fake(virtual={"pods": [V_POD], "events": []}, host={"pods": [P_POD]})
    await mapper.sync_to_virtual(fake.ctx, key, p_event())
    assert fake.calls == [("virtual", "create", f"{P_NAME}.abc")]
    ours = fake.virtual.bodies[0]
    bumped = {**p_event(), "count": 2}
    fake = Fake(virtual={"pods": [V_POD], "events": [ours]}, host={"pods": [P_POD]})
    await mapper.sync_to_virtual(fake.ctx, key, bumped)
    assert fake.calls == [("virtual", "update", f"{P_NAME}.abc")]
    foreign = {**ours, "metadata": {**ours["metadata"], "annotations": {}}}
    fake = Fake(virtual={"pods": [V_POD], "events": [foreign]}, host={"pods": [P_POD]})
    await mapper.sync_to_virtual(fake.ctx, key, bumped)
    assert fake.calls == []


async def test_event_about_an_unknown_object_is_retried_briefly_then_dropped() -> None:
    """Host object not cached yet: look again soon; an old event is dropped."""
    mapper = EventMapper(translator=T)
    key = ObjectKey("events", "", "e")
    fake = Fake(virtual={"pods": [V_POD]}, host={"pods": []})
    fresh = await mapper.sync_to_virtual(fake.ctx, key, p_event())
    assert fresh.requeue_after == 1.0
    old = {**p_event(), "lastTimestamp": "2020-01-01T00:00:00Z"}
    assert (await mapper.sync_to_virtual(fake.ctx, key, old)).requeue_after is None
    assert fake.calls == []
