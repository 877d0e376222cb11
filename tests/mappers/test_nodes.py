"""Fake nodes: lifetime, heartbeat, and the kubelet endpoint they advertise."""

from __future__ import annotations

import time
from typing import Any

from mappers.nodes import (
    HEARTBEAT_SECONDS,
    NodeMapper,
    fake_node,
    heartbeat_due,
    host_ready,
    is_fake,
    kubelet_stale,
    make,
)
from mappers.references import NODE_INDEX, index_node
from syncer.api import FAKE_NODE_LABEL, MapperConfig, ObjectKey
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
CONFIG = MapperConfig(kubelet_address="10.1.2.3", kubelet_port=11250)


def _bound_pod(node: str) -> Json:
    return {"metadata": {"name": "p", "namespace": "shop"}, "spec": {"nodeName": node}}


def _node_fake(*, pods: list[Json], nodes: list[Json]) -> Fake:
    fake = Fake(virtual={"pods": pods, "nodes": nodes})
    fake.virtual_caches["pods"].indexes[NODE_INDEX] = index_node
    return fake


HOST_NODE: Json = {
    "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux", "secret": "x"}},
    "status": {
        "capacity": {"cpu": "8"},
        "allocatable": {"cpu": "7"},
        "addresses": [
            {"type": "InternalIP", "address": "192.168.7.7"},
            {"type": "ExternalIP", "address": "203.0.113.9"},
            {"type": "Hostname", "address": "host-machine-7"},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "m-1",
            "systemUUID": "u-1",
            "bootID": "b-1",
            "kubeletVersion": "v1.36.3",
            "architecture": "amd64",
        },
    },
}
ADVERTISED = {
    "addresses": [
        {"type": "InternalIP", "address": "10.1.2.3"},
        {"type": "Hostname", "address": "n1"},
    ],
    "daemonEndpoints": {"kubeletEndpoint": {"Port": 11250}},
}


async def test_fake_node_lives_exactly_while_a_pod_is_bound_to_it() -> None:
    """Created from the host node when a pod is bound there; deleted with the last pod."""
    mapper = NodeMapper(translator=T)
    key = ObjectKey("nodes", "", "n1")
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[])
    result = await mapper.sync_to_virtual(fake.ctx, key, HOST_NODE)
    assert fake.calls == [("virtual", "create", "n1")]
    assert result.requeue_after == HEARTBEAT_SECONDS
    made = fake.virtual.bodies[0]
    assert is_fake(made)
    assert made["metadata"]["labels"] == {
        FAKE_NODE_LABEL: "true",
        "kubernetes.io/hostname": "n1",
        "kubernetes.io/os": "linux",
    }
    assert made["status"]["allocatable"] == {"cpu": "7"}

    made = {**made, "metadata": {**made["metadata"], "uid": "n-uid"}}
    fake = _node_fake(pods=[], nodes=[made])
    await mapper.sync(fake.ctx, made, HOST_NODE)
    assert fake.calls == [("virtual", "delete(grace=None)", "n1")]

    real = {"metadata": {"name": "n1", "labels": {}}}
    fake = _node_fake(pods=[], nodes=[real])
    await mapper.sync(fake.ctx, real, HOST_NODE)
    assert fake.calls == []
    assert mapper.keys_of_pod(_bound_pod("n2")) == [ObjectKey("nodes", "", "n2")]


async def test_heartbeat_is_renewed_while_needed() -> None:
    """A stale Ready heartbeat is refreshed; a fresh one is left alone."""
    now = time.time()
    stale = fake_node("n1", p_node=HOST_NODE, now=now - 2 * HEARTBEAT_SECONDS, config=CONFIG)
    stale["metadata"]["uid"] = "n-uid"
    assert heartbeat_due(stale, now=now)
    assert not heartbeat_due(fake_node("n1", p_node=HOST_NODE, now=now, config=CONFIG), now=now)
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[stale])
    await NodeMapper(translator=T, config=CONFIG).sync(fake.ctx, stale, HOST_NODE)
    assert fake.calls == [("virtual", "update_status", "n1")]
    ready = fake.virtual.bodies[0]["status"]["conditions"][0]
    assert ready["lastTransitionTime"] == stale["status"]["conditions"][0]["lastTransitionTime"]


async def test_fake_node_advertises_the_syncer_as_its_kubelet() -> None:
    """The configured kubelet address and port, the node name as Hostname; no host address."""
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[])
    mapper = make(translator=T, config=CONFIG)
    await mapper.sync_to_virtual(fake.ctx, ObjectKey("nodes", "", "n1"), HOST_NODE)
    status = fake.virtual.bodies[0]["status"]
    assert {k: status[k] for k in ADVERTISED} == ADVERTISED
    assert "192.168.7.7" not in str(status)
    assert "203.0.113.9" not in str(status)
    assert "host-machine-7" not in str(status)
    assert status["nodeInfo"] == {"kubeletVersion": "v1.36.3", "architecture": "amd64"}


async def test_a_fake_node_advertising_another_kubelet_is_corrected() -> None:
    """An older fake node (host-style addresses, another port) is rewritten at once,
    though its heartbeat is fresh; one that advertises the right kubelet is left alone."""
    now = time.time()
    old = fake_node("n1", p_node=HOST_NODE, now=now, config=MapperConfig())
    old["metadata"]["uid"] = "n-uid"
    old["status"]["addresses"] = [{"type": "InternalIP", "address": "192.168.7.7"}]
    assert not heartbeat_due(old, now=now)
    assert kubelet_stale(old, config=CONFIG)
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[old])
    await NodeMapper(translator=T, config=CONFIG).sync(fake.ctx, old, HOST_NODE)
    assert fake.calls == [("virtual", "update_status", "n1")]
    status = fake.virtual.bodies[0]["status"]
    assert {k: status[k] for k in ADVERTISED} == ADVERTISED

    right = fake_node("n1", p_node=HOST_NODE, now=now, config=CONFIG)
    right["metadata"]["uid"] = "n-uid"
    assert not kubelet_stale(right, config=CONFIG)
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[right])
    await NodeMapper(translator=T, config=CONFIG).sync(fake.ctx, right, HOST_NODE)
    assert fake.calls == []


def test_the_default_config_advertises_loopback_10250() -> None:
    """Without a config the factory uses MapperConfig's defaults."""
    node = fake_node("n1", p_node=HOST_NODE, now=0.0, config=MapperConfig())
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "127.0.0.1"}
    assert node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert make(translator=T).config == MapperConfig()


TENANT_TAINT = {"key": "example.com/gpu", "effect": "NoSchedule"}
ADMISSION_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


async def test_a_ready_fake_node_loses_the_admission_taint_and_keeps_the_tenants() -> None:
    """The not-ready taint admission added goes (a spec update); a tenant's taint stays."""
    tainted = fake_node("n1", p_node=HOST_NODE, now=time.time(), config=CONFIG)
    tainted["metadata"]["uid"] = "n-uid"
    tainted["spec"]["taints"] = [TENANT_TAINT, ADMISSION_TAINT]
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[tainted])
    await NodeMapper(translator=T, config=CONFIG).sync(fake.ctx, tainted, HOST_NODE)
    assert fake.calls == [("virtual", "update", "n1")]
    assert fake.virtual.bodies[0]["spec"]["taints"] == [TENANT_TAINT]


async def test_a_fake_node_turned_not_ready_is_made_ready_then_untainted() -> None:
    """Ready False (say, written by a tenant) is renewed to True, and the taints follow
    the renewed status: one status update, then one spec update."""
    now = time.time()
    down = fake_node("n1", p_node=HOST_NODE, now=now, config=CONFIG)
    down["metadata"]["uid"] = "n-uid"
    down["status"]["conditions"][0]["status"] = "False"
    down["spec"]["taints"] = [ADMISSION_TAINT, {**ADMISSION_TAINT, "effect": "NoExecute"}]
    fake = _node_fake(pods=[_bound_pod("n1")], nodes=[down])
    await NodeMapper(translator=T, config=CONFIG).sync(fake.ctx, down, HOST_NODE)
    assert fake.calls == [("virtual", "update_status", "n1"), ("virtual", "update", "n1")]
    assert fake.virtual.bodies[1]["spec"]["taints"] == []


def _host_node(ready: str) -> Json:
    status = {**HOST_NODE["status"], "conditions": [{"type": "Ready", "status": ready}]}
    return {**HOST_NODE, "status": status}


def test_host_ready_table() -> None:
    """The host node's Ready, Unknown when gone, True while it reports none."""
    assert host_ready(_host_node("True")) == "True"
    assert host_ready(_host_node("False")) == "False"
    assert host_ready(_host_node("Weird")) == "Unknown"
    assert host_ready(None) == "Unknown"
    assert host_ready(HOST_NODE) == "True"


async def test_a_fake_node_follows_its_host_node_out_of_ready_and_back() -> None:
    """Host NotReady: Ready False and the not-ready taints; host gone: Unknown and the
    unreachable taints; host Ready again: both go, the tenant's taint stays throughout."""
    mapper = NodeMapper(translator=T, config=CONFIG)
    node = fake_node("n1", p_node=HOST_NODE, now=time.time(), config=CONFIG)
    node["metadata"]["uid"] = "n-uid"
    node["spec"]["taints"] = [TENANT_TAINT]
    expected = {
        "False": {"node.kubernetes.io/not-ready"},
        "Unknown": {"node.kubernetes.io/unreachable"},
        "True": set(),
    }
    for ready, p_node in (("False", _host_node("False")), ("Unknown", None), ("True", HOST_NODE)):
        fake = _node_fake(pods=[_bound_pod("n1")], nodes=[node])
        if p_node is None:
            await mapper.sync_to_host(fake.ctx, node)
        else:
            await mapper.sync(fake.ctx, node, p_node)
        assert fake.calls == [("virtual", "update_status", "n1"), ("virtual", "update", "n1")]
        node = fake.virtual.bodies[-1]
        assert node["status"]["conditions"][0]["status"] == ready
        taints = node["spec"]["taints"]
        assert taints[0] == TENANT_TAINT
        assert {t["key"] for t in taints[1:]} == expected[ready]
