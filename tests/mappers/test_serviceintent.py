"""Re-creating a virtual Service survives a crash between any two steps (stateful fake)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mappers.serviceintent import (
    ANNOTATIONS_LIMIT_BYTES,
    RECREATE_INTENT_ANNOTATION,
    Intent,
    annotations_size,
    with_intent,
)
from mappers.services import CLUSTER_IP_MISMATCH_ANNOTATION, ServiceMapper
from syncer.api import OBJECT_UID_ANNOTATION, SERVICES, ObjectKey
from syncer.errors import ServerError
from tests.mappers.clusterfake import Clusters, Crash, converge
from tests.mappers.fakes import T

Json = dict[str, Any]
KEY = ObjectKey("services", "shop", "web")
P_NAME = T.host_name("shop", "web")
OWNERS = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1"}]


def tenant_service(*, selector: bool = True, cluster_ip: str = "10.1.0.5") -> Json:
    spec: Json = {
        "type": "ClusterIP",
        "clusterIP": cluster_ip,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
    }
    if selector:
        spec["selector"] = {"app": "web"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "labels": {"tier": "front"},
            "annotations": {"team": "shop"},
            "ownerReferences": OWNERS,
        },
        "spec": spec,
    }


def clusters(*, virtual_cidr: str = "10.0.0.0/8", selector: bool = True) -> Clusters:
    """The virtual service in place; the host refuses its IP (other range) and allocates one."""
    c = Clusters(translator=T, virtual_cidr=virtual_cidr, host_cidr="10.96.0.0/16")
    c.virtual.create("namespaces", "", {"metadata": {"name": "shop"}})
    c.virtual.create("services", "shop", tenant_service(selector=selector))
    if not selector:
        subsets = [{"addresses": [{"ip": "192.0.2.7"}], "ports": [{"port": 8080}]}]
        c.virtual.create("endpoints", "shop", {"metadata": {"name": "web"}, "subsets": subsets})
    return c


def assert_tenant_service_intact(c: Clusters, *, selector: bool = True) -> None:
    v_svc = c.virtual.objs.get(("services", "shop", "web"))
    assert v_svc is not None, "the tenant's Service was lost"
    meta, spec = v_svc["metadata"], v_svc["spec"]
    assert meta["labels"] == {"tier": "front"}
    assert meta["annotations"] == {"team": "shop"}
    assert meta["ownerReferences"] == OWNERS
    assert spec["ports"] == tenant_service()["spec"]["ports"]
    assert spec.get("selector") == ({"app": "web"} if selector else None)
    p_svc = c.host.objs[("services", T.host_namespace, P_NAME)]
    assert spec["clusterIP"] == p_svc["spec"]["clusterIP"]
    assert p_svc["metadata"]["annotations"][OBJECT_UID_ANNOTATION] == meta["uid"]
    assert RECREATE_INTENT_ANNOTATION not in p_svc["metadata"]["annotations"]
    if not selector:
        endpoints = c.virtual.objs.get(("endpoints", "shop", "web"))
        assert endpoints is not None, "the tenant's Endpoints were lost"
        assert endpoints["subsets"][0]["addresses"] == [{"ip": "192.0.2.7"}]


async def calls_of_a_clean_run(*, selector: bool) -> int:
    c = clusters(selector=selector)
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("virtual", "delete") in c.log, "the scenario must exercise the re-creation"
    assert_tenant_service_intact(c, selector=selector)
    return c.calls


@pytest.mark.parametrize("selector", [True, False])
async def test_a_crash_at_any_call_loses_nothing(selector: bool) -> None:
    """Crash at call N (for every N of a clean run), restart: the Service (and Endpoints) exist."""
    total = await calls_of_a_clean_run(selector=selector)
    for crash_at in range(1, total + 1):
        c = clusters(selector=selector)
        c.crash_at = crash_at
        with pytest.raises(Crash):
            await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
        c.crash_at = None
        await converge(ServiceMapper(translator=T), c, KEY, SERVICES)  # a fresh process
        assert_tenant_service_intact(c, selector=selector)
        assert c.events == []


async def test_failed_creates_are_retried_from_the_intent() -> None:
    """Two failed virtual creates after the delete: later reconciles create it from the intent."""
    c = clusters()
    c.fail[("virtual", "create")] = [ServerError(status=500), ServerError(status=503)]
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert_tenant_service_intact(c)


async def test_same_service_range_never_recreates() -> None:
    """The host can allocate the virtual IP: created with it, nothing deleted or re-created."""
    c = Clusters(translator=T, virtual_cidr="10.96.0.0/16", host_cidr="10.96.0.0/16")
    c.virtual.create("namespaces", "", {"metadata": {"name": "shop"}})
    c.virtual.create("services", "shop", tenant_service(cluster_ip="10.96.3.3"))
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("virtual", "delete") not in c.log
    assert ("virtual", "create") not in c.log
    assert c.host.objs[("services", T.host_namespace, P_NAME)]["spec"]["clusterIP"] == "10.96.3.3"
    assert_tenant_service_intact(c)


async def test_ip_taken_on_the_host_falls_back_to_a_host_ip_and_the_intent_path() -> None:
    """The virtual IP is allocated on the host already: host allocates; the intent path runs."""
    c = Clusters(translator=T, virtual_cidr="10.96.0.0/16", host_cidr="10.96.0.0/16")
    c.virtual.create("namespaces", "", {"metadata": {"name": "shop"}})
    c.virtual.create("services", "shop", tenant_service(cluster_ip="10.96.3.3"))
    c.host.create("services", T.host_namespace, {"metadata": {"name": "x"}, "spec": {}})
    c.host.objs[("services", T.host_namespace, "x")]["spec"]["clusterIP"] = "10.96.3.3"
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("virtual", "delete") in c.log
    assert_tenant_service_intact(c)
    assert c.virtual.objs[("services", "shop", "web")]["spec"]["clusterIP"] != "10.96.3.3"


async def test_tenant_delete_during_recreation_is_not_undone() -> None:
    """The tenant deletes the Service just before our delete: it stays deleted, host collected."""
    c = clusters()
    c.before[("virtual", "delete")] = lambda: c.virtual.objs.pop(("services", "shop", "web"))
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("services", "shop", "web") not in c.virtual.objs
    assert ("services", T.host_namespace, P_NAME) not in c.host.objs


async def test_intent_in_a_terminating_namespace_does_not_resurrect() -> None:
    """Host intent, virtual missing, namespace terminating: the host copy goes, nothing returns."""
    c = clusters()
    c.crash_at = 1 + await _calls_until(("virtual", "delete"))
    with pytest.raises(Crash):
        await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("services", "shop", "web") not in c.virtual.objs
    c.crash_at = None
    c.virtual.objs[("namespaces", "", "shop")]["metadata"]["deletionTimestamp"] = (
        "2026-01-01T00:00:00Z"
    )
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("services", "shop", "web") not in c.virtual.objs
    assert ("services", T.host_namespace, P_NAME) not in c.host.objs


async def _calls_until(step: tuple[str, str]) -> int:
    c = clusters()
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    return c.log.index(step) + 1


async def test_too_large_to_record_keeps_its_own_ip_and_warns() -> None:
    """An intent over the annotation limit: no delete; the service is marked; a Warning event."""
    c = clusters()
    big = "x" * (ANNOTATIONS_LIMIT_BYTES // 2 + 1)
    c.virtual.objs[("services", "shop", "web")]["metadata"]["annotations"]["big"] = big
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("virtual", "delete") not in c.log
    v_svc = c.virtual.objs[("services", "shop", "web")]
    p_svc = c.host.objs[("services", T.host_namespace, P_NAME)]
    assert (
        v_svc["metadata"]["annotations"][CLUSTER_IP_MISMATCH_ANNOTATION]
        == (p_svc["spec"]["clusterIP"])
    )
    assert v_svc["spec"]["clusterIP"] == "10.1.0.5"
    assert [e[:2] for e in c.events] == [("Warning", "SyncError")]


async def test_a_tenant_cannot_forge_an_intent() -> None:
    """The intent key on the virtual object never reaches the host, and is never acted on."""
    c = clusters()
    forged = Intent(old_uid="x", service={"metadata": {"name": "other", "namespace": "shop"}})
    v_svc = c.virtual.objs[("services", "shop", "web")]
    v_svc["metadata"]["annotations"][RECREATE_INTENT_ANNOTATION] = forged.encode()
    body = ServiceMapper(translator=T).host_service(v_svc, None)
    assert RECREATE_INTENT_ANNOTATION not in body["metadata"]["annotations"]
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    p_svc = c.host.objs[("services", T.host_namespace, P_NAME)]
    assert RECREATE_INTENT_ANNOTATION not in p_svc["metadata"]["annotations"]
    assert ("services", "shop", "other") not in c.virtual.objs


async def test_an_intent_for_another_key_is_ignored() -> None:
    """A host intent naming another virtual object is not acted on: the orphan is collected."""
    c = clusters()
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    p_svc = c.host.objs[("services", T.host_namespace, P_NAME)]
    other = {"metadata": {"name": "other", "namespace": "shop"}, "spec": {}}
    p_svc["metadata"]["annotations"][RECREATE_INTENT_ANNOTATION] = json.dumps(
        {"uid": "v-1", "service": other}
    )
    del c.virtual.objs[("services", "shop", "web")]
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("services", "shop", "other") not in c.virtual.objs
    assert ("services", T.host_namespace, P_NAME) not in c.host.objs


def test_intent_round_trips_and_is_bounded() -> None:
    """Encode → parse gives the intent back; one that would pass the limit is not added."""
    intent = Intent(old_uid="u", service={"metadata": {"name": "web"}}, endpoints=None)
    body: Json = {"metadata": {"annotations": {"a": "b"}}}
    assert with_intent(body, intent)
    assert Intent.of(body) == intent
    full: Json = {"metadata": {"annotations": {"a": "x" * (ANNOTATIONS_LIMIT_BYTES - 10)}}}
    assert not with_intent(full, intent)
    assert RECREATE_INTENT_ANNOTATION not in full["metadata"]["annotations"]
    assert annotations_size({"ab": "cd"}) == 4
    assert Intent.of({"metadata": {"annotations": {RECREATE_INTENT_ANNOTATION: "{"}}}) is None


async def test_a_service_with_finalizers_is_not_deleted_to_rewrite_it() -> None:
    """Its delete would only mark it terminating: it keeps its own IP, marked, with a warning."""
    c = clusters()
    c.virtual.objs[("services", "shop", "web")]["metadata"]["finalizers"] = ["example.com/keep"]
    await converge(ServiceMapper(translator=T), c, KEY, SERVICES)
    assert ("virtual", "delete") not in c.log
    v_svc = c.virtual.objs[("services", "shop", "web")]
    assert CLUSTER_IP_MISMATCH_ANNOTATION in v_svc["metadata"]["annotations"]
    assert [e[:2] for e in c.events] == [("Warning", "SyncError")]
    assert "finalizers" in c.events[0][2]
