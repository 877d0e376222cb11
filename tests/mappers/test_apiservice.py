"""Virtual ``default/kubernetes`` follows the host Service fronting the virtual API server."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.apiservice import (
    CLUSTER_IP_MISMATCH_ANNOTATION,
    RECHECK_SECONDS,
    RETRY_SECONDS,
    address_of_service,
)
from mappers.services import ServiceMapper
from syncer.api import DONE, AlreadyExists, ApiError, MapperConfig, ObjectKey, Result
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
KEY = ObjectKey("services", "default", "kubernetes")
CONFIG = MapperConfig(virtual_service_host="vc-api")


def v_kubernetes(
    ip: str = "10.96.0.1", port: int = 443, annotations: dict[str, str] | None = None
) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "uid": "k-uid",
            "resourceVersion": "5",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
            "annotations": dict(annotations or {}),
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ipFamilies": ["IPv4"],
            "ports": [{"name": "https", "port": port, "protocol": "TCP", "targetPort": port}],
        },
    }


def p_api(ip: str = "10.96.50.5", port: int = 443) -> Json:
    return {
        "metadata": {"name": "vc-api", "namespace": T.host_namespace, "uid": "h"},
        "spec": {
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ports": [{"name": "https", "port": port, "targetPort": 8443}],
        },
    }


def endpoints(ip: str = "10.96.50.5", port: int = 443) -> Json:
    return {
        "metadata": {"name": "kubernetes", "namespace": "default", "uid": "e"},
        "subsets": [
            {
                "addresses": [{"ip": ip}],
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            }
        ],
    }


ALIGNED = v_kubernetes("10.96.50.5")
CASES: list[tuple[str, Json, list[Json], list[Json], list[tuple[str, str]], Result]] = [
    # (description, virtual service, virtual endpoints, host live objects, writes, result)
    (
        "other cluster IP → delete and re-create, then Endpoints",
        v_kubernetes(),
        [],
        [p_api()],
        [("virtual", "delete(grace=0)"), ("virtual", "create"), ("virtual", "create")],
        Result(requeue_after=RECHECK_SECONDS),
    ),
    (
        "aligned, Endpoints missing → created",
        ALIGNED,
        [],
        [p_api()],
        [("virtual", "create")],
        Result(requeue_after=RECHECK_SECONDS),
    ),
    (
        "aligned, Endpoints stale → updated",
        ALIGNED,
        [endpoints("10.96.0.1", 6443)],
        [p_api()],
        [("virtual", "update")],
        Result(requeue_after=RECHECK_SECONDS),
    ),
    (
        "host port differs → service port and Endpoints updated",
        ALIGNED,
        [endpoints()],
        [p_api(port=8443)],
        [("virtual", "update"), ("virtual", "update")],
        Result(requeue_after=RECHECK_SECONDS),
    ),
    (
        "everything aligned → no writes",
        ALIGNED,
        [endpoints()],
        [p_api()],
        [],
        Result(requeue_after=RECHECK_SECONDS),
    ),
    (
        "host service missing → nothing written, looked at again",
        v_kubernetes(),
        [],
        [],
        [],
        Result(requeue_after=RETRY_SECONDS),
    ),
    (
        "refused IP marked → not retried, Endpoints still kept",
        v_kubernetes(annotations={CLUSTER_IP_MISMATCH_ANNOTATION: "10.96.50.5"}),
        [endpoints()],
        [p_api()],
        [],
        Result(requeue_after=RECHECK_SECONDS),
    ),
]


@pytest.mark.parametrize(
    ("v_svc", "v_endpoints", "host_live", "writes", "result"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_kubernetes_service_table(
    v_svc: Json,
    v_endpoints: list[Json],
    host_live: list[Json],
    writes: list[tuple[str, str]],
    result: Result,
) -> None:
    """Before: both sides; after: the virtual writes (the host Service is only read)."""
    fake = Fake(virtual={"services": [v_svc], "endpoints": v_endpoints}, host_live=host_live)
    mapper = ServiceMapper(translator=T, config=CONFIG)
    assert mapper.virtual_to_host(KEY) == "vc-api"
    assert await mapper.sync_to_host(fake.ctx, v_svc) == result
    assert fake.calls[0] == ("host", "get", "vc-api")
    assert [c[:2] for c in fake.calls[1:]] == writes


async def test_recreated_service_carries_the_host_address() -> None:
    """The new virtual service: host IP, host port, same labels; Endpoints at the host IP."""
    fake = Fake(virtual={"services": [v_kubernetes()]}, host_live=[p_api(port=8443)])
    await ServiceMapper(translator=T, config=CONFIG).sync_to_host(fake.ctx, v_kubernetes())
    service, created_endpoints = fake.virtual.bodies
    assert service["spec"]["clusterIP"] == "10.96.50.5"
    assert service["spec"]["clusterIPs"] == ["10.96.50.5"]
    assert "ipFamilies" not in service["spec"]
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 8443, "protocol": "TCP", "targetPort": 8443}
    ]
    assert "uid" not in service["metadata"]
    assert service["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert created_endpoints["subsets"] == endpoints(port=8443)["subsets"]


def test_unconfigured_leaves_default_kubernetes_alone() -> None:
    """Without virtual_service_host, default/kubernetes is not the syncer's."""
    assert ServiceMapper(translator=T).virtual_to_host(KEY) is None
    assert ServiceMapper(translator=T, config=MapperConfig()).virtual_to_host(KEY) is None


async def test_an_address_instead_of_a_service_name_is_used_as_is() -> None:
    """An IP in virtual_service_host: no host read, that IP and virtual_service_port."""
    config = MapperConfig(virtual_service_host="10.96.9.9", virtual_service_port=6443)
    fake = Fake(virtual={"services": [v_kubernetes()]})
    assert (
        await ServiceMapper(translator=T, config=config).sync_to_host(fake.ctx, v_kubernetes())
        == DONE
    )
    assert [c[:2] for c in fake.calls] == [
        ("virtual", "delete(grace=0)"),
        ("virtual", "create"),
        ("virtual", "create"),
    ]
    assert fake.virtual.bodies[0]["spec"]["clusterIP"] == "10.96.9.9"
    assert fake.virtual.bodies[1]["subsets"][0]["ports"][0]["port"] == 6443


async def test_refused_ip_restores_the_old_service_marked_with_a_warning() -> None:
    """The virtual API server refuses the host IP: back with the old IP, marked, a warning."""
    v = v_kubernetes()
    fake = Fake(virtual={"services": [v]}, host_live=[p_api()])
    original_create = fake.virtual.create
    attempts: list[Json] = []

    async def create(resource: Any, *, namespace: str | None, body: Any) -> Json:
        attempts.append(body)
        if len(attempts) == 1:
            raise ApiError(status=422, reason="Invalid", message="provided IP is already allocated")
        return await original_create(resource, namespace=namespace, body=body)

    fake.virtual.create = create  # type: ignore[method-assign]
    await ServiceMapper(translator=T, config=CONFIG).sync_to_host(fake.ctx, v)
    restored = attempts[1]
    assert restored["spec"]["clusterIP"] == "10.96.0.1"
    assert restored["metadata"]["annotations"][CLUSTER_IP_MISMATCH_ANNOTATION] == "10.96.50.5"
    assert fake.events == [("Warning", "SyncError")]


async def test_losing_the_race_to_the_virtual_api_server_looks_again() -> None:
    """The API server re-created default/kubernetes between our delete and create."""
    v = v_kubernetes()
    fake = Fake(virtual={"services": [v]}, host_live=[p_api()])

    async def create(resource: Any, *, namespace: str | None, body: Any) -> Json:
        raise AlreadyExists(status=409, reason="AlreadyExists")

    fake.virtual.create = create  # type: ignore[method-assign]
    result = await ServiceMapper(translator=T, config=CONFIG).sync_to_host(fake.ctx, v)
    assert result == Result(requeue=True)


@pytest.mark.parametrize(
    ("ports", "preferred", "port"),
    [
        ([{"name": "api", "port": 6443}, {"name": "https", "port": 443}], 6443, 443),
        ([{"name": "a", "port": 80}, {"name": "b", "port": 6443}], 6443, 6443),
        ([{"name": "a", "port": 80}, {"name": "b", "port": 81}], 6443, 80),
        ([], 6443, 6443),
    ],
    ids=["the https port", "the preferred port", "the first port", "no ports"],
)
def test_which_host_port_is_the_api_port(ports: list[Json], preferred: int, port: int) -> None:
    """``https`` by name, else ``virtual_service_port``, else the first."""
    svc = {"spec": {"clusterIP": "10.96.1.1", "ports": ports}}
    found = address_of_service(svc, preferred_port=preferred)
    assert found is not None
    assert found.port == port


def test_a_headless_host_service_has_no_address() -> None:
    """No cluster IP, nothing to point at."""
    assert address_of_service({"spec": {"clusterIP": "None"}}, preferred_port=443) is None
