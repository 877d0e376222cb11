"""A Service's spec on each side, and which of a tenant's spec fields may reach the host.

Guarantees (vcluster's Service rules; README "Security"):

* :func:`check_service_spec` raises :class:`~syncer.api.Refused` for a spec
  that must not reach the host, naming the field by its JSON path.  Every
  field of the v1.36 ``ServiceSpec`` is decided here (table below); a field
  that is not in it (a newer virtual API server's) is refused, never passed,
  and so is an unknown field of a port or of ``sessionAffinityConfig``.

  ==============================  =============================================
  field                           rule
  ==============================  =============================================
  ``selector``                    translated: confined to this vcluster and the
                                  virtual namespace (:func:`host_spec`)
  ``clusterIP(s)``                the virtual ones are requested on create,
                                  the host may refuse them and allocate its own
  ``ipFamilies``                  the host's (allocated with the cluster IPs)
  ``ports[].nodePort``,           dropped: the host allocates them, the virtual
  ``healthCheckNodePort``         service then shows the host's (a requested
                                  node port could squat on a host port)
  ``externalIPs``                 each must be inside
                                  ``VSYNCER_SERVICE_EXTERNAL_IP_CIDRS`` (empty:
                                  none allowed) and not a denied address
                                  (:mod:`mappers.addresspolicy`): reason
                                  ``external_ips``
  ``loadBalancerIP``              as an external IP (it asks the host's load
                                  balancer for a specific address): reason
                                  ``load_balancer_ip``
  ``externalName``                passed, except an IP literal that is a denied
                                  address or ``localhost``: reason
                                  ``external_name``
  ``loadBalancerSourceRanges``,   passed: they only narrow or tune the tenant's
  ``type``, ``sessionAffinity``,  own service; the host validates their values
  ``sessionAffinityConfig``,
  ``externalTrafficPolicy``,
  ``internalTrafficPolicy``,
  ``publishNotReadyAddresses``,
  ``ipFamilyPolicy``,
  ``allocateLoadBalancerNodePorts``,
  ``loadBalancerClass``,
  ``trafficDistribution``
  ==============================  =============================================

  ``loadBalancerClass`` picks which of the host's load-balancer controllers
  serves the service; it cannot take over anyone else's traffic, so it passes.

* :func:`host_spec` and :func:`virtual_spec` are pure: the host spec with the
  translated selector and the host's allocations, and the virtual spec carrying
  the host's cluster IPs, IP families and node ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappers.addresspolicy import Address, AddressPolicy, networks, parse_ip
from syncer.api import Refused, Translator, thaw
from syncer.kit import Json, items, mapping

#: Spec fields the host allocates; the virtual service copies them from the host.
HOST_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies", "healthCheckNodePort")
#: Every field of the v1.36 ServiceSpec.
SERVICE_SPEC_FIELDS = frozenset(
    {
        "ports",
        "selector",
        "clusterIP",
        "clusterIPs",
        "type",
        "externalIPs",
        "sessionAffinity",
        "loadBalancerIP",
        "loadBalancerSourceRanges",
        "externalName",
        "externalTrafficPolicy",
        "healthCheckNodePort",
        "publishNotReadyAddresses",
        "sessionAffinityConfig",
        "ipFamilies",
        "ipFamilyPolicy",
        "allocateLoadBalancerNodePorts",
        "loadBalancerClass",
        "internalTrafficPolicy",
        "trafficDistribution",
    }
)
SERVICE_PORT_FIELDS = frozenset(
    {"name", "protocol", "appProtocol", "port", "targetPort", "nodePort"}
)
_AFFINITY_FIELDS = {"": frozenset({"clientIP"}), "clientIP": frozenset({"timeoutSeconds"})}
_EXTERNAL_IP_SETTING = "VSYNCER_SERVICE_EXTERNAL_IP_CIDRS"


def unknown_field(path: str, what: str) -> Refused:
    return Refused(
        reason="unknown_field",
        message=f"{path}: not a field of {what} (Kubernetes v1.36); vsyncer passes no unknown "
        "field to the host",
        retry_after=None,
    )


def _check_known(spec: Mapping[str, Any]) -> None:
    for field in sorted(spec):
        if field not in SERVICE_SPEC_FIELDS:
            raise unknown_field(f"spec.{field}", "ServiceSpec")
    for i, port in enumerate(items(spec.get("ports"))):
        for field in sorted(mapping(port)):
            if field not in SERVICE_PORT_FIELDS:
                raise unknown_field(f"spec.ports[{i}].{field}", "ServicePort")
    affinity = mapping(spec.get("sessionAffinityConfig"))
    for field in sorted(affinity):
        if field not in _AFFINITY_FIELDS[""]:
            raise unknown_field(f"spec.sessionAffinityConfig.{field}", "SessionAffinityConfig")
    for field in sorted(mapping(affinity.get("clientIP"))):
        if field not in _AFFINITY_FIELDS["clientIP"]:
            raise unknown_field(f"spec.sessionAffinityConfig.clientIP.{field}", "ClientIPConfig")


def check_service_spec(
    spec: Mapping[str, Any],
    *,
    allowed_external_cidrs: tuple[str, ...],
    policy: AddressPolicy,
    node_addresses: frozenset[Address] = frozenset(),
    service_addresses: frozenset[Address] = frozenset(),
) -> None:
    """Refuse a virtual Service spec that must not reach the host (see the module table).

    Raises :class:`~syncer.api.Refused` (``retry_after=None``: only a change
    of the service can lift it) with reason ``unknown_field``,
    ``external_ips``, ``load_balancer_ip`` or ``external_name``.
    """
    _check_known(spec)
    allowed = networks(allowed_external_cidrs)
    denied = {"node_addresses": node_addresses, "service_addresses": service_addresses}
    candidates = [
        (f"spec.externalIPs[{i}]", ip, "external_ips")
        for i, ip in enumerate(items(spec.get("externalIPs")))
    ]
    if spec.get("loadBalancerIP"):
        candidates.append(("spec.loadBalancerIP", spec["loadBalancerIP"], "load_balancer_ip"))
    for path, value, reason in candidates:
        address = parse_ip(value)
        if address is None or not any(address in network for network in allowed):
            raise Refused(
                reason=reason,
                message=f"{path}: {value} is not in an allowed CIDR ({_EXTERNAL_IP_SETTING})",
                retry_after=None,
            )
        why = policy.why_denied(value, **denied)
        if why is not None:
            raise Refused(reason=reason, message=f"{path}: {value} {why}", retry_after=None)
    name = spec.get("externalName")
    if isinstance(name, str) and name:
        lowered = name.lower().rstrip(".")
        why = (
            "is the local host"
            if lowered == "localhost" or lowered.endswith(".localhost")
            else (policy.why_denied(name, **denied) if parse_ip(name) is not None else None)
        )
        if why is not None:
            raise Refused(
                reason="external_name",
                message=f"spec.externalName: {name} {why}",
                retry_after=None,
            )


def _port_key(port: Any) -> tuple[str, object, str]:
    port = mapping(port)
    return (str(port.get("name") or ""), port.get("port"), str(port.get("protocol") or "TCP"))


def node_ports(spec: Any) -> dict[tuple[str, object, str], int]:
    """Node port of every port that has one, by (name, port, protocol)."""
    return {
        _port_key(p): int(mapping(p)["nodePort"])
        for p in items(mapping(spec).get("ports"))
        if mapping(p).get("nodePort")
    }


def host_spec(v_spec: Any, *, namespace: str, translator: Translator, p_spec: Any) -> Json:
    """The host spec: selector translated, host-allocated fields taken from ``p_spec``."""
    spec = thaw(mapping(v_spec))
    selector = translator.translate_selector(mapping(spec.get("selector")), namespace=namespace)
    if selector:
        spec["selector"] = selector
    else:
        spec.pop("selector", None)
    headless = spec.get("clusterIP") == "None"
    current = mapping(p_spec)
    for field in HOST_ALLOCATED:
        if headless and field in ("clusterIP", "clusterIPs"):
            continue
        if field in current:
            spec[field] = thaw({field: current[field]})[field]
        else:
            spec.pop(field, None)
    allocated = node_ports(current)
    for port in items(spec.get("ports")):
        node_port = allocated.get(_port_key(port))
        if node_port:
            port["nodePort"] = node_port
        else:
            port.pop("nodePort", None)
    return spec


def requested_ips(v_spec: Any) -> list[str]:
    """The cluster IPs a new host service should ask for: the virtual ones, if it has any."""
    spec = mapping(v_spec)
    if spec.get("type") == "ExternalName":
        return []
    ips = [str(ip) for ip in items(spec.get("clusterIPs")) if parse_ip(ip) is not None]
    if not ips and parse_ip(spec.get("clusterIP")) is not None:
        ips = [str(spec["clusterIP"])]
    return ips


def virtual_spec(v_spec: Any, p_spec: Any) -> Json:
    """The virtual spec carrying the host's addresses and node ports."""
    spec = thaw(mapping(v_spec))
    current = mapping(p_spec)
    for field in HOST_ALLOCATED:
        if field in current:
            spec[field] = thaw({field: current[field]})[field]
    allocated = node_ports(current)
    for port in items(spec.get("ports")):
        node_port = allocated.get(_port_key(port))
        if node_port:
            port["nodePort"] = node_port
    return spec
