"""Endpoints of selector-less services: only allowed addresses and known fields reach the host."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.addresspolicy import AddressPolicy
from mappers.endpoints import EndpointsMapper, check_subsets, host_subsets, make
from syncer.api import MapperConfig, Refused
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
NODE_IP = "172.18.0.3"
HOST_SVC_IP = "192.168.77.9"  # a cached host Service's cluster IP outside the service CIDR


def endpoints(*addresses: Json, ports: list[Json] | None = None) -> Json:
    return {
        "metadata": {"name": "ext", "namespace": "shop", "uid": "e-uid"},
        "subsets": [
            {"addresses": list(addresses), "ports": ports or [{"name": "http", "port": 80}]}
        ],
    }


def selectorless() -> Json:
    return {
        "metadata": {"name": "ext", "namespace": "shop", "uid": "s-uid"},
        "spec": {"ports": [{"port": 80}]},
    }


def host_node() -> Json:
    return {
        "metadata": {"name": "kwok-node-0"},
        "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]},
    }


def host_service() -> Json:
    return {
        "metadata": {"name": "other-x-shop-x-vc", "namespace": T.host_namespace},
        "spec": {"clusterIP": HOST_SVC_IP, "clusterIPs": [HOST_SVC_IP]},
    }


def fake(*, with_nodes: bool = True, existing: Json | None = None) -> Fake:
    host: dict[str, list[Json]] = {"endpoints": [existing] if existing else []}
    host["services"] = [host_service()]
    if with_nodes:
        host["nodes"] = [host_node()]
    return Fake(virtual={"services": [selectorless()]}, host=host)


HOSTILE = [
    ("10.96.0.1", "host's service CIDR"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.251", "link-local multicast"),
    (NODE_IP, "host node"),
    (HOST_SVC_IP, "cluster IP of a host Service"),
    ("010.1.2.3", "canonical"),
    ("not-an-ip", "canonical"),
]


@pytest.mark.parametrize(("ip", "why"), HOSTILE)
async def test_hostile_address_is_refused_and_the_host_untouched(ip: str, why: str) -> None:
    """Refused naming subsets[0].addresses[1].ip; no host create, no update of an existing copy."""
    v_ep = endpoints({"ip": "192.0.2.10"}, {"ip": ip})
    mapper = EndpointsMapper(translator=T)
    new = fake()
    with pytest.raises(Refused) as refused:
        await mapper.sync_to_host(new.ctx, v_ep)
    assert refused.value.reason == "endpoints_address"
    assert refused.value.retry_after is None
    assert refused.value.message.startswith(f"subsets[0].addresses[1].ip: {ip} ")
    assert why in refused.value.message
    assert new.calls == []
    p_ep = mapper.desired_host(fake().ctx, endpoints({"ip": "192.0.2.10"}), None)
    assert p_ep is not None
    p_ep["metadata"]["uid"] = "p-uid"
    old = fake(existing=p_ep)
    with pytest.raises(Refused):
        await mapper.sync(old.ctx, v_ep, p_ep)
    assert old.calls == []


async def test_allowed_address_reaches_the_host_with_node_names_dropped() -> None:
    """A documentation-range address passes; nodeName is dropped, hostname kept."""
    v_ep = endpoints({"ip": "192.0.2.10", "hostname": "a", "nodeName": "kwok-node-0"})
    f = fake()
    await EndpointsMapper(translator=T).sync_to_host(f.ctx, v_ep)
    assert f.calls == [("host", "create", T.host_name("shop", "ext"))]
    assert f.host.created[0]["subsets"][0]["addresses"] == [{"ip": "192.0.2.10", "hostname": "a"}]


def test_deny_cidrs_and_host_service_cidrs_come_from_the_config() -> None:
    """VSYNCER_ENDPOINTS_DENY_CIDRS adds ranges; VSYNCER_HOST_SERVICE_CIDRS replaces the default."""
    config = MapperConfig(
        host_service_cidrs=("10.100.0.0/16",), endpoints_deny_cidrs=("203.0.113.0/24",)
    )
    policy = AddressPolicy.from_config(config)
    with pytest.raises(Refused, match=r"denied CIDR 203\.0\.113\.0/24"):
        check_subsets(endpoints({"ip": "203.0.113.5"})["subsets"], policy=policy)
    with pytest.raises(Refused, match=r"service CIDR 10\.100\.0\.0/16"):
        check_subsets(endpoints({"ip": "10.100.3.4"})["subsets"], policy=policy)
    check_subsets(endpoints({"ip": "10.96.0.1"})["subsets"], policy=policy)
    mapper = make(translator=T, config=config)
    assert mapper.policy == policy


@pytest.mark.parametrize(
    ("subsets", "path"),
    [
        ([{"addresses": [{"ip": "192.0.2.1", "zone": "a"}]}], "subsets[0].addresses[0].zone"),
        (
            [{"notReadyAddresses": [{"ip": "192.0.2.1", "x": 1}]}],
            "subsets[0].notReadyAddresses[0].x",
        ),
        ([{"ports": [{"port": 80, "hints": {}}]}], "subsets[0].ports[0].hints"),
        ([{"addresses": [], "conditions": {}}], "subsets[0].conditions"),
    ],
)
def test_unknown_fields_are_refused(subsets: list[Json], path: str) -> None:
    """A field Kubernetes v1.36 does not have is refused, never passed."""
    with pytest.raises(Refused) as refused:
        check_subsets(subsets, policy=AddressPolicy.from_config(MapperConfig()))
    assert refused.value.reason == "unknown_field"
    assert refused.value.message.startswith(f"{path}: ")


def test_not_ready_addresses_are_checked_too() -> None:
    """notReadyAddresses reach the host's proxies with publishNotReadyAddresses: same rule."""
    subsets = [{"notReadyAddresses": [{"ip": "127.0.0.1"}]}]
    with pytest.raises(Refused, match=r"subsets\[0\]\.notReadyAddresses\[0\]\.ip"):
        check_subsets(subsets, policy=AddressPolicy.from_config(MapperConfig()))


async def test_without_a_nodes_cache_other_rules_still_hold() -> None:
    """The nodes mapper off: node addresses are unknown, everything else is still refused."""
    mapper = EndpointsMapper(translator=T)
    f = fake(with_nodes=False)
    await mapper.sync_to_host(f.ctx, endpoints({"ip": NODE_IP}))
    assert f.calls == [("host", "create", T.host_name("shop", "ext"))]
    with pytest.raises(Refused):
        await mapper.sync_to_host(fake(with_nodes=False).ctx, endpoints({"ip": "10.96.0.1"}))


def test_host_subsets_keeps_the_input_unchanged() -> None:
    """Translation works on a copy: the cached virtual object is never modified."""
    subsets = [{"addresses": [{"ip": "192.0.2.1", "nodeName": "n"}]}]
    assert host_subsets(subsets, namespace="shop", translator=T) == [
        {"addresses": [{"ip": "192.0.2.1"}]}
    ]
    assert subsets[0]["addresses"][0]["nodeName"] == "n"
