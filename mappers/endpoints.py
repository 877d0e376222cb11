"""Endpoints: synced only for virtual services without a selector, and only to allowed addresses.

A service with a selector gets its host endpoints from the host's own endpoints
controller (the host service selects the host pods); only the endpoints a
tenant manages by hand — those of a selector-less service — are copied down.

Guarantees:

* the host copy exists exactly while the virtual Endpoints object and a
  selector-less virtual service of the same name both exist (this mapper
  watches virtual services, so a selector added or removed is noticed);
  ``default/kubernetes`` is never synced;
* no address reaches the host that :mod:`mappers.addresspolicy` denies (the
  host's service CIDRs, ``VSYNCER_ENDPOINTS_DENY_CIDRS``, loopback,
  link-local, unspecified, a host node's address, a cached host Service's
  cluster IP): such Endpoints are refused whole — :class:`~syncer.api.Refused`
  with reason ``endpoints_address`` naming ``subsets[i].addresses[j].ip`` —
  before any host write, so an existing host copy keeps its last allowed
  state.  Node addresses come from the host nodes cache, which runs with the
  ``nodes`` mapper; without it node addresses cannot be recognised (a warning
  is logged once) and operators should list the node network in
  ``VSYNCER_ENDPOINTS_DENY_CIDRS``.  Addresses are checked when the Endpoints
  or their service change: a host node added later with an address already
  synced is not noticed until then;
* every field is decided: of a subset ``addresses``, ``notReadyAddresses`` and
  ``ports``; of an address ``ip`` (checked), ``hostname`` (passed: a DNS name
  inside the service's own records), ``targetRef`` (a Pod is re-pointed at its
  host pod, anything else dropped: it names a virtual object the host does not
  have) and ``nodeName`` (dropped: a virtual node name claims nothing on the
  host); of a port ``name``, ``port``, ``protocol``, ``appProtocol`` (passed,
  the host validates them).  A field not in Kubernetes v1.36 is refused
  (reason ``unknown_field``), never passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mappers.addresspolicy import (
    Address,
    AddressPolicy,
    host_node_addresses,
    host_service_addresses,
)
from mappers.servicespec import unknown_field
from syncer.api import (
    ENDPOINTS,
    NODES,
    SERVICES,
    MapperConfig,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import CopySyncer, Json, items, mapping, name_of, namespace_of

KUBERNETES_SERVICE = ("default", "kubernetes")
_ADDRESS_LISTS = ("addresses", "notReadyAddresses")
SUBSET_FIELDS = frozenset({"addresses", "notReadyAddresses", "ports"})
ADDRESS_FIELDS = frozenset({"ip", "hostname", "nodeName", "targetRef"})
PORT_FIELDS = frozenset({"name", "port", "protocol", "appProtocol"})


def check_subsets(
    subsets: Any,
    *,
    policy: AddressPolicy,
    node_addresses: frozenset[Address] = frozenset(),
    service_addresses: frozenset[Address] = frozenset(),
) -> None:
    """Refuse subsets with an unknown field or an address traffic must not go to.

    Raises :class:`~syncer.api.Refused` (``retry_after=None``) with reason
    ``unknown_field`` or ``endpoints_address``; the message names the field.
    """
    for i, subset in enumerate(items(subsets)):
        for field in sorted(mapping(subset)):
            if field not in SUBSET_FIELDS:
                raise unknown_field(f"subsets[{i}].{field}", "EndpointSubset")
        for j, port in enumerate(items(mapping(subset).get("ports"))):
            for field in sorted(mapping(port)):
                if field not in PORT_FIELDS:
                    raise unknown_field(f"subsets[{i}].ports[{j}].{field}", "EndpointPort")
        for kind in _ADDRESS_LISTS:
            for j, address in enumerate(items(mapping(subset).get(kind))):
                path = f"subsets[{i}].{kind}[{j}]"
                for field in sorted(mapping(address)):
                    if field not in ADDRESS_FIELDS:
                        raise unknown_field(f"{path}.{field}", "EndpointAddress")
                ip = mapping(address).get("ip")
                why = policy.why_denied(
                    ip, node_addresses=node_addresses, service_addresses=service_addresses
                )
                if why is not None:
                    raise Refused(
                        reason="endpoints_address",
                        message=f"{path}.ip: {ip} {why}",
                        retry_after=None,
                    )


def host_subsets(subsets: Any, *, namespace: str, translator: Translator) -> list[Json]:
    """Virtual subsets with pod references translated to host pods and node names dropped."""
    translated = thaw({"s": items(subsets)})["s"]
    for subset in translated:
        for field in _ADDRESS_LISTS:
            for address in items(subset.get(field)):
                address.pop("nodeName", None)
                ref = mapping(address.get("targetRef"))
                if ref.get("kind") == "Pod" and ref.get("name"):
                    address["targetRef"] = {
                        "kind": "Pod",
                        "name": translator.host_name(
                            str(ref.get("namespace") or namespace), str(ref["name"])
                        ),
                        "namespace": translator.host_namespace,
                    }
                else:
                    address.pop("targetRef", None)
    return list(translated)


class EndpointsMapper(CopySyncer):
    synced_fields = ("subsets",)
    # Virtual services are watched; host node and service addresses are refused while the
    # nodes and services mappers run.
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({NODES, SERVICES})

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=ENDPOINTS, translator=translator)
        self.policy = AddressPolicy.from_config(config or MapperConfig())
        self._warned_without_nodes = False

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        if (key.namespace, key.name) == KUBERNETES_SERVICE:
            return None
        return super().virtual_to_host(key)

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return {SERVICES: self.keys_of_service}

    def keys_of_service(self, service: Obj) -> list[ObjectKey]:
        return [ObjectKey(ENDPOINTS.plural, namespace_of(service), name_of(service))]

    def check(self, ctx: SyncContext, v_obj: Obj) -> None:
        """Refuse ``v_obj`` if its subsets must not reach the host (see :func:`check_subsets`)."""
        nodes = host_node_addresses(ctx)
        if nodes is None and not self._warned_without_nodes:
            self._warned_without_nodes = True
            if ctx.log is not None:
                ctx.log.warning(
                    "no host nodes cache (the nodes mapper is off): Endpoints addresses are "
                    "not checked against host node addresses; list the node network in "
                    "VSYNCER_ENDPOINTS_DENY_CIDRS"
                )
        check_subsets(
            v_obj.get("subsets"),
            policy=self.policy,
            node_addresses=nodes or frozenset(),
            service_addresses=host_service_addresses(ctx),
        )

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for copied kinds; refused Endpoints are not drift (not synced on purpose)."""
        try:
            return super().drift(ctx, v_obj, p_obj)
        except Refused:
            return None

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        service = ctx.virtual_cache(SERVICES).get(namespace_of(v_obj), name_of(v_obj))
        if service is None or mapping(service.get("spec")).get("selector"):
            return None
        self.check(ctx, v_obj)
        return {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": self.host_metadata(v_obj, p_obj),
            "subsets": host_subsets(
                v_obj.get("subsets"), namespace=namespace_of(v_obj), translator=self.translator
            ),
        }


def make(*, translator: Translator, config: MapperConfig | None = None) -> EndpointsMapper:
    """Entry-point factory."""
    return EndpointsMapper(translator=translator, config=config)
