"""The virtual API server's address host pods get: read by the pods mapper itself."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.apiservice import RECHECK_SECONDS, RETRY_SECONDS
from mappers.podapi import PodApiAddress, cluster_ip, https_port
from mappers.pods import make
from syncer.api import PODS, MapperConfig, Refused
from tests.mappers.fakes import Fake, T, pod_created

Json = dict[str, Any]
POD: Json = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"},
    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
}
#: The virtual default/kubernetes before the services kind aligned it (a virtual IP).
VIRTUAL_API: Json = {
    "metadata": {"name": "kubernetes", "namespace": "default"},
    "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443}]},
}
HOST_API: Json = {
    "metadata": {"name": "vc-api", "namespace": T.host_namespace},
    "spec": {"clusterIP": "10.96.7.7", "ports": [{"name": "https", "port": 6443}]},
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _env(p_pod: Json) -> dict[str, str]:
    return {e["name"]: e["value"] for e in p_pod["spec"]["containers"][0]["env"]}


def test_service_reading_helpers() -> None:
    """Cluster IP only when it is an address; the https port, else the first, else 443."""
    assert cluster_ip(VIRTUAL_API) == "10.96.0.1"
    assert cluster_ip({"spec": {"clusterIP": "None"}}) is None
    assert cluster_ip(None) is None
    assert https_port(HOST_API) == 6443
    assert https_port({"spec": {"ports": [{"name": "x", "port": 8443}]}}) == 8443
    assert https_port(None) == 443


async def test_configured_host_service_is_what_pods_get_without_the_services_kind() -> None:
    """Only pods enabled: the host Service's address, not the virtual default/kubernetes."""
    fake = Fake(
        virtual={"pods": [POD], "services": [VIRTUAL_API]},
        host={"pods": []},
        host_live=[HOST_API],
        enabled=[PODS],
    )
    mapper = make(translator=T, config=MapperConfig(virtual_service_host="vc-api"))
    await mapper.sync_to_host(fake.ctx, POD)
    env = _env(pod_created(fake)[0])
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("10.96.7.7", "6443")


async def test_a_configured_ip_is_taken_as_it_is() -> None:
    """An IP address needs no read; the port is virtual_service_port."""
    fake = Fake(virtual={"pods": [POD], "services": [VIRTUAL_API]}, host={"pods": []})
    config = MapperConfig(virtual_service_host="192.0.2.5", virtual_service_port=8443)
    await make(translator=T, config=config).sync_to_host(fake.ctx, POD)
    env = _env(pod_created(fake)[0])
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("192.0.2.5", "8443")


async def test_unconfigured_pods_get_the_virtual_default_kubernetes() -> None:
    """As before: the virtual service as the watched cache holds it."""
    fake = Fake(virtual={"pods": [POD], "services": [VIRTUAL_API]}, host={"pods": []})
    await make(translator=T).sync_to_host(fake.ctx, POD)
    assert _env(pod_created(fake)[0])["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


async def test_a_missing_host_service_refuses_the_pod_and_is_read_again() -> None:
    """Missing: refused (api_service), nothing created; found: read once per RECHECK_SECONDS."""
    fake = Fake(virtual={"pods": [POD]}, host={"pods": []})
    clock = Clock()
    api = PodApiAddress(config=MapperConfig(virtual_service_host="vc-api"), clock=clock)
    with pytest.raises(Refused) as caught:
        await api.refresh(fake.ctx)
    assert caught.value.reason == "api_service"
    assert caught.value.retry_after == RETRY_SECONDS
    assert "VSYNCER_VIRTUAL_SERVICE_HOST" in caught.value.message
    fake.host_live.put(HOST_API)
    await api.refresh(fake.ctx)
    await api.refresh(fake.ctx)
    clock.now += RECHECK_SECONDS
    await api.refresh(fake.ctx)
    assert [c for c in fake.calls if c[2] == "vc-api"] == [("host", "get", "vc-api")] * 3
    assert api.for_pods(VIRTUAL_API) == ("10.96.7.7", 6443)
