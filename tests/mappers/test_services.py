"""Services: spec translation both ways and the "host first, virtual carries its address" rule."""

from __future__ import annotations

import json
from typing import Any

from mappers.endpoints import EndpointsMapper, host_subsets
from mappers.pvcs import host_claim_spec
from mappers.services import (
    CLUSTER_IP_MISMATCH_ANNOTATION,
    RECREATE_INTENT_ANNOTATION,
    ServiceMapper,
    host_spec,
    recreated,
    virtual_spec,
)
from syncer.api import (
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_UID_ANNOTATION,
    Invalid,
    ObjectKey,
)
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]


def v_svc(**spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "v-uid",
            "resourceVersion": "4",
            "ownerReferences": [{"kind": "X", "name": "o", "uid": "o"}],
        },
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.1.0.5",
            "clusterIPs": ["10.1.0.5"],
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30001}],
            **spec,
        },
    }


P_SPEC = {
    "type": "NodePort",
    "clusterIP": "10.96.7.7",
    "clusterIPs": ["10.96.7.7"],
    "ipFamilies": ["IPv4"],
    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 31111}],
}


def test_host_spec_translates_the_selector_and_leaves_allocation_to_the_host() -> None:
    """New host service: no cluster IP or node port of the virtual one; selector confined."""
    spec = host_spec(v_svc()["spec"], namespace="shop", translator=T, p_spec=None)
    assert spec["selector"] == {"app": "web", MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"}
    assert "clusterIP" not in spec
    assert "clusterIPs" not in spec
    assert "nodePort" not in spec["ports"][0]
    updated = host_spec(v_svc()["spec"], namespace="shop", translator=T, p_spec=P_SPEC)
    assert updated["clusterIP"] == "10.96.7.7"
    assert updated["ports"][0]["nodePort"] == 31111
    headless = host_spec(
        v_svc(clusterIP="None", clusterIPs=["None"], selector=None)["spec"],
        namespace="shop",
        translator=T,
        p_spec=None,
    )
    assert headless["clusterIP"] == "None"
    assert "selector" not in headless


def test_virtual_spec_carries_the_host_addresses() -> None:
    """Cluster IPs, IP families and node ports come from the host."""
    spec = virtual_spec(v_svc()["spec"], P_SPEC)
    assert spec["clusterIP"] == "10.96.7.7"
    assert spec["clusterIPs"] == ["10.96.7.7"]
    assert spec["ports"][0]["nodePort"] == 31111
    assert spec["selector"] == {"app": "web"}
    body = recreated(v_svc(), spec)
    assert "uid" not in body["metadata"]
    assert "resourceVersion" not in body["metadata"]
    assert body["metadata"]["ownerReferences"] == [{"kind": "X", "name": "o", "uid": "o"}]


def _p_svc(v: Json, **spec: Any) -> Json:
    mapper = ServiceMapper(translator=T)
    body = mapper.desired_host(Fake().ctx, v, None)
    assert body is not None
    body["metadata"]["uid"] = "p-uid"
    body["spec"] = {**body["spec"], **P_SPEC, **spec}
    return body


async def test_different_cluster_ip_recreates_the_virtual_service() -> None:
    """Intent on the host first, then delete (UID precondition) + create, then re-point."""
    v = v_svc()
    fake = Fake(virtual={"services": [v]})
    await ServiceMapper(translator=T).sync(fake.ctx, v, _p_svc(v))
    assert [c[:2] for c in fake.calls] == [
        ("host", "update"),
        ("virtual", "delete(grace=0)"),
        ("virtual", "create"),
        ("host", "update"),
    ]
    intent = json.loads(fake.host.updated[0]["metadata"]["annotations"][RECREATE_INTENT_ANNOTATION])
    assert intent["uid"] == "v-uid"
    assert intent["service"]["spec"]["clusterIP"] == "10.96.7.7"
    assert intent["service"]["metadata"]["ownerReferences"] == v["metadata"]["ownerReferences"]
    assert fake.virtual.bodies[0]["spec"]["clusterIP"] == "10.96.7.7"
    final = fake.host.updated[1]["metadata"]["annotations"]
    assert final[OBJECT_UID_ANNOTATION] == "v-new"
    assert RECREATE_INTENT_ANNOTATION not in final


async def test_same_cluster_ip_other_node_port_updates_in_place() -> None:
    """Node ports are mutable: the virtual service is updated, not re-created."""
    v = v_svc(clusterIP="10.96.7.7", clusterIPs=["10.96.7.7"], ipFamilies=["IPv4"])
    fake = Fake(virtual={"services": [v]})
    await ServiceMapper(translator=T).sync(fake.ctx, v, _p_svc(v))
    assert fake.calls == [("virtual", "update", "web")]
    assert fake.virtual.bodies[0]["spec"]["ports"][0]["nodePort"] == 31111


async def test_refused_host_ip_restores_the_service_once() -> None:
    """Virtual refuses the host IP: the service returns with its own IP, marked, and a warning."""
    v = v_svc()
    fake = Fake(virtual={"services": [v]})
    original_create = fake.virtual.create
    attempts: list[Json] = []

    async def create(resource: Any, *, namespace: str | None, body: Any) -> Json:
        attempts.append(body)
        if len(attempts) == 1:
            raise Invalid(status=422, reason="Invalid", message="provided IP is not in range")
        return await original_create(resource, namespace=namespace, body=body)

    fake.virtual.create = create  # type: ignore[method-assign]
    await ServiceMapper(translator=T).sync(fake.ctx, v, _p_svc(v))
    restored = attempts[1]
    assert "clusterIP" not in restored["spec"]
    assert restored["metadata"]["annotations"][CLUSTER_IP_MISMATCH_ANNOTATION] == "10.96.7.7"
    assert fake.events == [("Warning", "SyncError")]
    # Marked: the next reconcile does not try again.
    marked = v_svc(clusterIP="10.1.0.9", clusterIPs=["10.1.0.9"], ipFamilies=["IPv4"])
    marked["metadata"]["annotations"] = {CLUSTER_IP_MISMATCH_ANNOTATION: "10.96.7.7"}
    fake = Fake(virtual={"services": [marked]})
    await ServiceMapper(translator=T).sync(fake.ctx, marked, _p_svc(marked))
    assert all("delete" not in verb for _, verb, _ in fake.calls)


def test_kubernetes_service_and_endpoints_are_not_synced() -> None:
    """default/kubernetes belongs to the virtual API server."""
    key = ObjectKey("services", "default", "kubernetes")
    assert ServiceMapper(translator=T).virtual_to_host(key) is None
    assert EndpointsMapper(translator=T).virtual_to_host(key._replace(kind="endpoints")) is None


async def test_endpoints_copied_only_for_services_without_selector() -> None:
    """A selector-less service's endpoints are copied; a selector service's are not."""
    endpoints = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "e"},
        "subsets": [{"addresses": [{"ip": "192.0.2.1"}]}],
    }
    mapper = EndpointsMapper(translator=T)
    with_selector = Fake(virtual={"services": [v_svc()]}, host={"endpoints": []})
    await mapper.sync_to_host(with_selector.ctx, endpoints)
    assert with_selector.calls == []
    plain = v_svc(selector=None)
    without = Fake(virtual={"services": [plain]}, host={"endpoints": []})
    await mapper.sync_to_host(without.ctx, endpoints)
    assert without.calls == [("host", "create", T.host_name("shop", "web"))]
    assert mapper.keys_of_service(plain) == [ObjectKey("endpoints", "shop", "web")]


def test_endpoint_pod_references_point_at_host_pods() -> None:
    """Pod targetRefs are renamed; other references are dropped."""
    subsets = [
        {
            "addresses": [
                {"ip": "1.1.1.1", "targetRef": {"kind": "Pod", "name": "p", "namespace": "shop"}},
                {"ip": "2.2.2.2", "targetRef": {"kind": "Node", "name": "n"}},
            ]
        }
    ]
    translated = host_subsets(subsets, namespace="shop", translator=T)
    assert translated[0]["addresses"][0]["targetRef"] == {
        "kind": "Pod",
        "name": T.host_name("shop", "p"),
        "namespace": "host-ns",
    }
    assert "targetRef" not in translated[0]["addresses"][1]
    assert subsets[0]["addresses"][1]["targetRef"] == {"kind": "Node", "name": "n"}


def test_claim_spec_drops_the_volume_name_and_renames_claim_sources() -> None:
    """A virtual volume name means nothing on the host; a cloned claim is the host copy."""
    spec = host_claim_spec(
        {
            "volumeName": "pv-1",
            "dataSource": {"kind": "PersistentVolumeClaim", "name": "src"},
            "dataSourceRef": {"kind": "VolumeSnapshot", "apiGroup": "s.k8s.io", "name": "snap"},
        },
        namespace="shop",
        translator=T,
    )
    assert "volumeName" not in spec
    assert spec["dataSource"]["name"] == T.host_name("shop", "src")
    assert spec["dataSourceRef"]["name"] == "snap"


async def test_endpoints_of_a_recreated_selectorless_service_are_restored() -> None:
    """The virtual endpoints controller may delete them with the old service: they come back."""
    v = v_svc(selector=None)
    endpoints = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "e-uid", "resourceVersion": "2"},
        "subsets": [{"addresses": [{"ip": "192.0.2.1"}]}],
    }
    mapper = ServiceMapper(translator=T)
    fake = Fake(virtual={"services": [v], "endpoints": [endpoints]})
    await mapper.sync(fake.ctx, v, _p_svc(v))
    assert ("virtual", "create", "web") in fake.calls
    # The endpoints controller deleted them meanwhile; the next reconcile restores them.
    aligned = v_svc(selector=None, clusterIP="10.96.7.7", clusterIPs=["10.96.7.7"])
    aligned["spec"].update(ipFamilies=["IPv4"], ports=P_SPEC["ports"])
    fake2 = Fake(virtual={"services": [aligned], "endpoints": []})
    fake2.virtual.bodies.clear()
    await mapper.sync(fake2.ctx, aligned, _p_svc(aligned))
    assert fake2.calls == [("virtual", "create", "web")]
    restored = fake2.virtual.bodies[0]
    assert restored["subsets"] == endpoints["subsets"]
    assert "uid" not in restored["metadata"]
    # Restored once only.
    fake3 = Fake(virtual={"services": [aligned], "endpoints": []})
    await mapper.sync(fake3.ctx, aligned, _p_svc(aligned))
    assert fake3.calls == []
    assert mapper.keys_of_endpoints(endpoints) == [ObjectKey("services", "shop", "web")]


def test_guard_remembers_endpoints_seen_while_armed_only() -> None:
    """Endpoints created after the re-creation began are remembered; unarmed keys are not."""
    mapper = ServiceMapper(translator=T)
    key = ObjectKey("services", "shop", "web")
    ep = {"metadata": {"name": "web", "namespace": "shop"}, "subsets": []}
    mapper.keys_of_endpoints(ep)
    assert mapper.endpoints_guard.saved(key) is None
    mapper.endpoints_guard.arm(key, None)
    assert mapper.endpoints_guard.saved(key) is None
    mapper.keys_of_endpoints(ep)
    assert mapper.endpoints_guard.saved(key) is ep


def test_drift_names_a_changed_host_spec_and_ignores_refused_and_api_services() -> None:
    """Host spec edited behind our back → "spec"; refused or default/kubernetes → no drift."""
    mapper = ServiceMapper(translator=T)
    v = v_svc(clusterIP="10.96.7.7", clusterIPs=["10.96.7.7"], ipFamilies=["IPv4"])
    p = _p_svc(v)
    p["metadata"]["annotations"][OBJECT_UID_ANNOTATION] = "v-uid"
    ctx = Fake(host={"nodes": [], "services": [p]}).ctx
    assert mapper.drift(ctx, v, p) is None
    edited = {**p, "spec": {**p["spec"], "selector": {"app": "other"}}}
    assert mapper.drift(ctx, v, edited) == "spec"
    hostile = v_svc(externalIPs=["10.96.0.1"])
    assert mapper.drift(ctx, hostile, None) is None
    api = {"metadata": {"name": "kubernetes", "namespace": "default"}, "spec": {}}
    assert mapper.drift(ctx, api, None) is None
    assert mapper.drift(ctx, v, None) == "missing"


def test_drift_of_refused_endpoints_is_none() -> None:
    """Endpoints refused on purpose are not drift; allowed ones without a copy are missing."""
    mapper = EndpointsMapper(translator=T)
    ctx = Fake(virtual={"services": [v_svc(selector=None)]}, host={"nodes": [], "services": []}).ctx
    bad = {
        "metadata": {"name": "web", "namespace": "shop"},
        "subsets": [{"addresses": [{"ip": "10.96.0.1"}]}],
    }
    good = {
        "metadata": {"name": "web", "namespace": "shop"},
        "subsets": [{"addresses": [{"ip": "192.0.2.1"}]}],
    }
    assert mapper.drift(ctx, bad, None) is None
    assert mapper.drift(ctx, good, None) == "missing"
