"""Which Service spec fields reach the host: every v1.36 field decided, hijack inputs refused."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

import mappers.servicespec
from mappers.addresspolicy import AddressPolicy
from mappers.services import ServiceMapper
from mappers.servicespec import SERVICE_SPEC_FIELDS, check_service_spec, requested_ips
from syncer.api import MapperConfig, Refused
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
POLICY = AddressPolicy.from_config(MapperConfig())
NODE = ipaddress.ip_address("198.51.100.7")


def check(spec: Json, *, allowed: tuple[str, ...] = ()) -> None:
    check_service_spec(
        spec, allowed_external_cidrs=allowed, policy=POLICY, node_addresses=frozenset({NODE})
    )


@pytest.mark.parametrize(
    ("spec", "allowed", "reason", "message"),
    [
        (
            {"externalIPs": ["1.2.3.4"]},
            (),
            "external_ips",
            "spec.externalIPs[0]: 1.2.3.4 is not in an allowed CIDR "
            "(VSYNCER_SERVICE_EXTERNAL_IP_CIDRS)",
        ),
        (
            {"externalIPs": ["10.96.0.1"]},
            (),
            "external_ips",
            "spec.externalIPs[0]: 10.96.0.1 is not in an allowed CIDR",
        ),
        (
            {"externalIPs": ["203.0.113.1", "10.96.0.1"]},
            ("0.0.0.0/0",),
            "external_ips",
            "spec.externalIPs[1]: 10.96.0.1 is in the host's service CIDR",
        ),
        (
            {"externalIPs": ["198.51.100.7"]},
            ("198.51.100.0/24",),
            "external_ips",
            "spec.externalIPs[0]: 198.51.100.7 is a host node's address",
        ),
        ({"loadBalancerIP": "1.2.3.4"}, (), "load_balancer_ip", "spec.loadBalancerIP: 1.2.3.4"),
        ({"externalName": "127.0.0.1"}, (), "external_name", "spec.externalName: 127.0.0.1"),
        ({"externalName": "localhost."}, (), "external_name", "spec.externalName: localhost."),
        ({"topologyKeys": ["*"]}, (), "unknown_field", "spec.topologyKeys: not a field"),
        ({"ports": [{"port": 80, "x": 1}]}, (), "unknown_field", "spec.ports[0].x: not a field"),
        (
            {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5, "y": 1}}},
            (),
            "unknown_field",
            "spec.sessionAffinityConfig.clientIP.y",
        ),
    ],
)
def test_hijack_inputs_and_unknown_fields_are_refused(
    spec: Json, allowed: tuple[str, ...], reason: str, message: str
) -> None:
    """Each refusal names the field and is final until the service changes."""
    with pytest.raises(Refused) as refused:
        check(spec, allowed=allowed)
    assert refused.value.reason == reason
    assert refused.value.message.startswith(message)
    assert refused.value.retry_after is None


@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        ({"externalIPs": ["203.0.113.9"]}, ("203.0.113.0/24",)),
        ({"loadBalancerIP": "203.0.113.9"}, ("203.0.113.0/24",)),
        ({"externalName": "db.example.com"}, ()),
        (
            {
                "type": "LoadBalancer",
                "loadBalancerSourceRanges": ["192.0.2.0/24"],
                "loadBalancerClass": "example.com/lb",
                "externalTrafficPolicy": "Local",
                "internalTrafficPolicy": "Local",
                "allocateLoadBalancerNodePorts": False,
                "publishNotReadyAddresses": True,
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                "trafficDistribution": "PreferClose",
                "ipFamilyPolicy": "SingleStack",
                "ipFamilies": ["IPv4"],
                "healthCheckNodePort": 30000,
                "ports": [
                    {
                        "name": "h",
                        "protocol": "TCP",
                        "appProtocol": "http",
                        "port": 80,
                        "targetPort": 8080,
                        "nodePort": 30001,
                    }
                ],
            },
            (),
        ),
    ],
)
def test_allowed_specs_pass(spec: Json, allowed: tuple[str, ...]) -> None:
    """An allowed CIDR lets an external IP through; ordinary fields pass."""
    check(spec, allowed=allowed)


def test_every_v1_36_field_is_in_the_decision_table() -> None:
    """The module's table names each ServiceSpec field (so none is passed undecided)."""
    doc = mappers.servicespec.__doc__ or ""
    documented = set(re.findall(r"``(\w+)(?:\[\]\.\w+|\(s\))?``", doc))
    documented |= {"clusterIP", "clusterIPs"} if "clusterIP(s)" in doc else set()
    assert SERVICE_SPEC_FIELDS - documented == set()


async def test_refused_service_leaves_the_host_copy_untouched() -> None:
    """externalIPs added to a synced service: no host write at all."""
    mapper = ServiceMapper(translator=T)
    v: Json = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "v"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 80}]},
    }
    p = mapper.host_service(v, None)
    p["metadata"]["uid"] = "p"
    p["spec"]["clusterIP"] = "10.96.0.20"
    hostile = {**v, "spec": {**v["spec"], "externalIPs": ["10.96.0.1"]}}
    fake = Fake(virtual={"services": [hostile]}, host={"services": [p], "nodes": []})
    with pytest.raises(Refused):
        await mapper.sync(fake.ctx, hostile, p)
    with pytest.raises(Refused):
        await mapper.sync_to_host(fake.ctx, hostile)
    assert fake.calls == []


def test_allowed_external_ips_come_from_the_config() -> None:
    """VSYNCER_SERVICE_EXTERNAL_IP_CIDRS reaches the mapper."""
    config = MapperConfig(service_external_ip_cidrs=("203.0.113.0/24",))
    assert ServiceMapper(translator=T, config=config).config is config


def test_requested_ips_are_the_virtual_ones() -> None:
    """The host is asked for the virtual cluster IPs; none for headless or ExternalName."""
    assert requested_ips({"clusterIP": "10.1.0.5", "clusterIPs": ["10.1.0.5", "fd00::5"]}) == [
        "10.1.0.5",
        "fd00::5",
    ]
    assert requested_ips({"clusterIP": "10.1.0.5"}) == ["10.1.0.5"]
    assert requested_ips({"clusterIP": "None"}) == []
    assert requested_ips({"type": "ExternalName", "clusterIP": "10.1.0.5"}) == []
    assert requested_ips({}) == []
