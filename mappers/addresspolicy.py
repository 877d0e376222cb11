"""Which addresses a tenant may point host service traffic at.

A selector-less virtual Service's Endpoints, and a Service's ``externalIPs``,
are copied to the host namespace, where the host's service proxy (kube-proxy
or its replacements) programs them for every pod on every node.  Unchecked,
a tenant could send the traffic of its own service name — or, with external
IPs, *every* packet to an address and port — to the host API server, a node's
kubelet, the cloud metadata endpoint or another tenant's service.  The rule
here (README "Security") refuses:

* the host's service CIDRs (``MapperConfig.host_service_cidrs``, default
  ``10.96.0.0/12``, which holds the host ``kubernetes`` service) and
  ``MapperConfig.endpoints_deny_cidrs``;
* loopback (``127.0.0.0/8``, ``::1``), link-local (``169.254.0.0/16``,
  ``fe80::/10``), link-local multicast (``224.0.0.0/24``, IPv6 multicast of
  link-local scope) and unspecified (``0.0.0.0``, ``::``)
  addresses — Kubernetes' own endpoint-IP validation refuses these too, this
  is a second line;
* every address of a host node (``status.addresses`` of the host nodes the
  ``nodes`` mapper caches) and the cluster IP(s) of every host Service in the
  host namespace this syncer caches (its own);
* anything that is not an IP address in canonical form: the host parses some
  forms (leading zeros) that Python does not, so what cannot be checked is
  refused.

IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.  All of
this is pure: the caller gathers node and service addresses
(:func:`host_node_addresses`, :func:`host_service_addresses`) from the caches.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from syncer.api import NODES, SERVICES, MapperConfig, SyncContext
from syncer.kit import items, mapping

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Ranges that are never a service backend, whatever the settings say.
SPECIAL_NETWORKS: tuple[tuple[str, Network], ...] = tuple(
    (what, ipaddress.ip_network(cidr))
    for what, cidr in (
        ("loopback", "127.0.0.0/8"),
        ("loopback", "::1/128"),
        ("link-local", "169.254.0.0/16"),
        ("link-local", "fe80::/10"),
        ("link-local multicast", "224.0.0.0/24"),
        ("unspecified", "0.0.0.0/32"),
        ("unspecified", "::/128"),
    )
)


def parse_ip(value: object) -> Address | None:
    """The address ``value`` names (IPv4-mapped IPv6 unwrapped); ``None`` if not canonical."""
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Parsed CIDRs (host bits allowed); the settings validated them already."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The denied address ranges, from :class:`~syncer.api.MapperConfig`."""

    host_service: tuple[Network, ...]
    denied: tuple[Network, ...]

    @classmethod
    def from_config(cls, config: MapperConfig) -> AddressPolicy:
        return cls(
            host_service=networks(config.host_service_cidrs),
            denied=networks(config.endpoints_deny_cidrs),
        )

    def why_denied(
        self,
        value: object,
        *,
        node_addresses: frozenset[Address] = frozenset(),
        service_addresses: frozenset[Address] = frozenset(),
    ) -> str | None:
        """Why traffic must not be pointed at ``value``; ``None`` if it may.

        The answer is a short phrase for a Warning event ("is in the host's
        service CIDR 10.96.0.0/12", "is a host node's address" …).
        """
        address = parse_ip(value)
        if address is None:
            return "is not an IP address in canonical form"
        for what, network in SPECIAL_NETWORKS:
            if address in network:
                return f"is a {what} address ({network})"
        if address.version == 6 and address.packed[0] == 0xFF and address.packed[1] & 0x0F == 2:
            return "is a link-local multicast address"
        for network in self.host_service:
            if address in network:
                return f"is in the host's service CIDR {network} (VSYNCER_HOST_SERVICE_CIDRS)"
        for network in self.denied:
            if address in network:
                return f"is in the denied CIDR {network} (VSYNCER_ENDPOINTS_DENY_CIDRS)"
        if address in node_addresses:
            return "is a host node's address"
        if address in service_addresses:
            return "is the cluster IP of a host Service"
        return None


def host_node_addresses(ctx: SyncContext) -> frozenset[Address] | None:
    """Every IP of every host node in the nodes cache; ``None`` when no nodes cache runs.

    The host nodes cache exists only while the ``nodes`` mapper runs; without
    it node addresses cannot be told apart, and the caller says so (operators
    then list the node network in ``VSYNCER_ENDPOINTS_DENY_CIDRS``).
    """
    if not ctx.serves(NODES):
        return None
    nodes = ctx.host_cache(NODES).list()
    found: set[Address] = set()
    for node in nodes:
        for entry in items(mapping(node.get("status")).get("addresses")):
            address = parse_ip(mapping(entry).get("address"))
            if address is not None:
                found.add(address)
    return frozenset(found)


def host_service_addresses(ctx: SyncContext) -> frozenset[Address]:
    """The cluster IPs of the host Services this syncer caches (its own, in the host namespace)."""
    if not ctx.serves(SERVICES):
        return frozenset()
    services = ctx.host_cache(SERVICES).list()
    found: set[Address] = set()
    for service in services:
        spec = mapping(service.get("spec"))
        for value in [spec.get("clusterIP"), *items(spec.get("clusterIPs"))]:
            address = parse_ip(value)
            if address is not None:
                found.add(address)
    return frozenset(found)
