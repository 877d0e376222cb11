"""NetworkPolicies (``networking.k8s.io/v1``): the tenant's policies, confined to its own pods.

An optional toHost kind (``networkpolicies.networking.k8s.io`` in
``VSYNCER_KINDS``), as vcluster's network-policy syncer.  Every pod of this
vcluster runs in the one host namespace, so a virtual policy becomes one host
policy there whose selectors can only ever pick pods of this vcluster
(:mod:`mappers.policyselectors`).

Guarantees, field by field (``NetworkPolicySpec`` of Kubernetes v1.36):

====================================  ==========================================
field                                 on the host
====================================  ==========================================
``podSelector``                       translated and confined to the policy's
                                      virtual namespace of this vcluster; ``{}``
                                      is every pod of that namespace, nothing else
peer ``podSelector`` alone            the same: pods of the policy's namespace
peer ``namespaceSelector``            a pod selector over the namespace labels
(with or without ``podSelector``)     the pods mapper copies onto host pods
                                      (``vcluster.loft.sh/ns-label-…``) plus
                                      ``managed-by=<vcluster>``; ``{}`` is every
                                      pod of this vcluster, never the host's own
                                      pods nor another vcluster's
peer ``ipBlock``                      kept as it is; with isolation on,
                                      refused (``network_policy_isolation``)
                                      unless every address it admits is one
                                      the isolation policy lets workloads reach
                                      (:mod:`mappers.ipfence`)
a rule with no peers (every address)  kept; with isolation on, refused
                                      (``network_policy_isolation``)
``ports``, ``policyTypes``            kept as they are
anything else                         refused (``unknown_field``, Warning event
                                      ``SyncRefused``): nothing unknown reaches
                                      the host
====================================  ==========================================

A host peer never carries a ``namespaceSelector``, so it only ever names pods
of the host namespace.  Without isolation, ``ipBlock`` peers may name any
address, as in the established syncer: a policy only *allows* traffic to or
from the pods it selects, and those are always the tenant's own.  With
isolation (``VSYNCER_ISOLATION``), policies add up, so an ``ipBlock`` or a
peer-less rule admitting a private address would cancel the isolation policy's
fence for the pods it selects: such a policy is refused, naming the first
address outside, until the tenant excepts it or the operator allow-lists it
(``VSYNCER_ISOLATION_ALLOW_CIDRS``).  The spec goes down and is kept
equal (:class:`~syncer.kit.CopySyncer`); a refused update leaves the host copy
as it was.  NetworkPolicy has no status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappers.ipfence import Block, outside
from mappers.policyselectors import namespaced_pod_selector, pod_selector
from mappers.servicespec import unknown_field
from syncer.api import (
    NETWORKPOLICIES,
    MapperConfig,
    Obj,
    Refused,
    Resource,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import CopySyncer, Json, items, mapping, namespace_of

#: Every field of the v1.36 NetworkPolicySpec, its rules, peers, ports and IP blocks.
SPEC_FIELDS = frozenset({"podSelector", "ingress", "egress", "policyTypes"})
RULE_FIELDS = {"ingress": frozenset({"from", "ports"}), "egress": frozenset({"to", "ports"})}
PEER_FIELDS = frozenset({"podSelector", "namespaceSelector", "ipBlock"})
PORT_FIELDS = frozenset({"protocol", "port", "endPort"})
IP_BLOCK_FIELDS = frozenset({"cidr", "except"})


def host_policy_spec(
    spec: Mapping[str, Any],
    *,
    namespace: str,
    translator: Translator,
    fence: tuple[Block, ...] | None = None,
) -> Json:
    """The host spec for a virtual policy of ``namespace``; raises :class:`Refused`.

    ``fence``: the isolation policy's address blocks (``None``: no isolation).
    Pure; ``spec`` is not changed.  See the module table for each field.
    """
    _check_fields(spec, SPEC_FIELDS, path="spec", what="NetworkPolicySpec")
    host: Json = thaw(dict(spec))
    host["podSelector"] = pod_selector(
        mapping(spec.get("podSelector")),
        namespace=namespace,
        translator=translator,
        path="spec.podSelector",
    )
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        if direction not in spec:
            continue
        rules = []
        for i, rule in enumerate(items(spec.get(direction))):
            path = f"spec.{direction}[{i}]"
            rule = mapping(rule)
            _check_fields(rule, RULE_FIELDS[direction], path=path, what="NetworkPolicyRule")
            for j, port in enumerate(items(rule.get("ports"))):
                _check_fields(
                    mapping(port), PORT_FIELDS, path=f"{path}.ports[{j}]", what="NetworkPolicyPort"
                )
            host_rule = thaw(dict(rule))
            if fence is not None and not items(rule.get(peers_field)):
                raise _outside_fence(f"{path}.{peers_field}", "every address")
            if peers_field in rule:
                host_rule[peers_field] = [
                    host_peer(
                        mapping(peer),
                        namespace=namespace,
                        translator=translator,
                        path=f"{path}.{peers_field}[{j}]",
                        fence=fence,
                    )
                    for j, peer in enumerate(items(rule.get(peers_field)))
                ]
            rules.append(host_rule)
        host[direction] = rules
    return host


def _outside_fence(path: str, what: str) -> Refused:
    return Refused(
        reason="network_policy_isolation",
        message=f"{path}: admits {what}, which the isolation policy keeps workloads from; "
        "except it, or allow it with VSYNCER_ISOLATION_ALLOW_CIDRS",
    )


def host_peer(
    peer: Mapping[str, Any],
    *,
    namespace: str,
    translator: Translator,
    path: str,
    fence: tuple[Block, ...] | None = None,
) -> Json:
    """One ``from``/``to`` peer of a policy in ``namespace``, as the host must read it."""
    _check_fields(peer, PEER_FIELDS, path=path, what="NetworkPolicyPeer")
    if "ipBlock" in peer:
        block = mapping(peer.get("ipBlock"))
        _check_fields(block, IP_BLOCK_FIELDS, path=f"{path}.ipBlock", what="IPBlock")
        if len(peer) > 1:
            raise Refused(
                reason="network_policy_peer",
                message=f"{path}: ipBlock may not be combined with pod or namespace selectors",
            )
        if fence is not None:
            cidr, excepts = str(block.get("cidr", "")), [str(e) for e in items(block.get("except"))]
            try:
                address = outside((cidr, excepts), fence=fence)
            except ValueError:
                address = f"the malformed block {cidr!r}"
            if address is not None:
                raise _outside_fence(f"{path}.ipBlock", address)
        return {"ipBlock": thaw(dict(block))}
    pods = peer.get("podSelector")
    if "namespaceSelector" in peer:
        return {
            "podSelector": namespaced_pod_selector(
                pods=mapping(pods) if pods is not None else None,
                namespaces=mapping(peer.get("namespaceSelector")),
                translator=translator,
                path=path,
            )
        }
    if pods is None:
        raise Refused(
            reason="network_policy_peer",
            message=f"{path}: a peer names ipBlock, podSelector or namespaceSelector",
        )
    return {
        "podSelector": pod_selector(
            mapping(pods), namespace=namespace, translator=translator, path=f"{path}.podSelector"
        )
    }


def _check_fields(value: Mapping[str, Any], known: frozenset[str], *, path: str, what: str) -> None:
    for field in sorted(value):
        if field not in known:
            raise unknown_field(f"{path}.{field}", what)


class NetworkPolicyMapper(CopySyncer):
    """Spec down, translated and confined (see the module); no status."""

    synced_fields = ("spec",)
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=NETWORKPOLICIES, translator=translator)
        self.fence = (config or MapperConfig()).isolation_ip_fence

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        """The host policy; raises :class:`Refused` for a spec that must not reach the host."""
        body = super().desired_host(ctx, v_obj, p_obj)
        if body is None:
            return None
        body["spec"] = host_policy_spec(
            mapping(v_obj.get("spec")),
            namespace=namespace_of(v_obj),
            translator=self.translator,
            fence=self.fence,
        )
        return body

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for every copied kind; a refused policy is not synced on purpose: no drift."""
        try:
            return super().drift(ctx, v_obj, p_obj)
        except Refused:
            return None


def make(*, translator: Translator, config: MapperConfig) -> NetworkPolicyMapper:
    """Entry-point factory."""
    return NetworkPolicyMapper(translator=translator, config=config)
