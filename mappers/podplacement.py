"""Where a new tenant pod may land on the host: its ``nodeName`` and its ``runtimeClassName``.

Both fields let a pod past the host scheduler's placement rules unless they are
checked here, before the host pod is created (:meth:`PodPlacement.refusal`; the
running pod's fields are immutable, so the check is for creation only):

* **Tenant-set nodeName.**  A pod created with ``spec.nodeName`` skips the host
  scheduler, and the kubelet only enforces ``NoExecute`` taints, so a tenant
  could put a pod on a node tainted ``NoSchedule`` (a control-plane or
  dedicated node) without any toleration.  The host node must exist
  (``node_name``, :func:`mappers.podguard.node_refusal`) and the pod must
  tolerate each of its ``NoSchedule`` and ``NoExecute`` taints, as the host
  scheduler's TaintToleration filter requires, and a node with
  ``spec.unschedulable`` is treated as tainted
  ``node.kubernetes.io/unschedulable:NoSchedule``, as its NodeUnschedulable
  filter does (``node_taint``, naming the first such taint; looked at again
  after :data:`TAINT_RETRY` seconds, doubling to :data:`TAINT_RETRY_MAX`, as
  taints change).  Toleration matching is Kubernetes'
  ``Toleration.ToleratesTaint``; an operator it does not know tolerates
  nothing.  The node is read from the host nodes cache, which exists while the
  nodes kind runs; without it no taint can be checked, so a tenant-set
  ``nodeName`` is refused (``node_name``) until the pod changes.
* **runtimeClassName.**  The host's RuntimeClass admission merges the class's
  ``scheduling.tolerations`` and ``nodeSelector`` into the pod, so naming a
  host class would give the pod tolerations the tenant did not write.  A class is
  allowed when it is one of the host classes copied into the virtual cluster
  (the ``runtimeclasses`` fromHost kind runs and its host cache, narrowed by
  ``VSYNCER_FROM_HOST_LABEL_SELECTOR``, holds it) or listed in
  ``VSYNCER_POD_RUNTIME_CLASSES``; any other is refused (``runtime_class``,
  looked at again after :data:`RUNTIME_CLASS_RETRY` seconds while the fromHost
  kind runs, since a class may be copied later; otherwise only a change of the
  pod lifts it).

Reads caches only (:data:`PLACEMENT_READS`); writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mappers.podguard import node_refusal
from syncer.api import NODES, RUNTIMECLASSES, Obj, Refused, Resource, SyncContext
from syncer.kit import items, mapping

#: The host caches the checks read, while those kinds run.
PLACEMENT_READS: frozenset[Resource] = frozenset({NODES, RUNTIMECLASSES})
#: A pod refused for a taint is looked at again after 5 s, doubling to 60 s.
TAINT_RETRY, TAINT_RETRY_MAX = 5.0, 60.0
#: A pod refused for its runtime class, while classes are copied from the host.
RUNTIME_CLASS_RETRY = 60.0
#: The taint effects the host scheduler filters nodes by (PreferNoSchedule only scores).
FILTERED_EFFECTS = ("NoSchedule", "NoExecute")
UNSCHEDULABLE_TAINT: Mapping[str, str] = {
    "key": "node.kubernetes.io/unschedulable",
    "effect": "NoSchedule",
}


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Whether ``toleration`` tolerates ``taint`` (Kubernetes' ``Toleration.ToleratesTaint``).

    An effect or key, when given, must equal the taint's (an empty key with
    ``Exists`` matches every key); ``Equal`` (or no operator) needs the same
    value, ``Exists`` any value; any other operator tolerates nothing.
    """
    effect, key = toleration.get("effect") or "", toleration.get("key") or ""
    if effect and effect != taint.get("effect"):
        return False
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def filtered_taints(node: Obj) -> list[Mapping[str, Any]]:
    """The taints of ``node`` the host scheduler filters by: NoSchedule and NoExecute ones,
    plus the unschedulable taint when ``spec.unschedulable`` is set."""
    spec = mapping(node.get("spec"))
    taints = [mapping(t) for t in items(spec.get("taints"))]
    found = [t for t in taints if t.get("effect") in FILTERED_EFFECTS]
    if spec.get("unschedulable") is True and not any(
        t.get("key") == UNSCHEDULABLE_TAINT["key"] and t.get("effect") == "NoSchedule"
        for t in found
    ):
        found.append(UNSCHEDULABLE_TAINT)
    return found


def untolerated(node: Obj, tolerations: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The taints of ``node`` (:func:`filtered_taints`) that no one of ``tolerations`` tolerates."""
    tolerating = [mapping(t) for t in tolerations]
    return [t for t in filtered_taints(node) if not any(tolerates(o, t) for o in tolerating)]


def describe(taint: Mapping[str, Any]) -> str:
    """``key=value:Effect`` (``key:Effect`` without a value), as ``kubectl`` prints a taint."""
    value = taint.get("value")
    return f"{taint.get('key')}{'=' + str(value) if value else ''}:{taint.get('effect')}"


def taint_refusal(ctx: SyncContext, v_pod: Obj) -> Refused | None:
    """A ``node_taint`` (or, without the nodes kind, ``node_name``) refusal for ``v_pod``'s
    tenant-set ``nodeName``; ``None`` when it has none, or its node is missing (that is
    :func:`~mappers.podguard.node_refusal`'s) or tolerated."""
    spec = mapping(v_pod.get("spec"))
    node_name = spec.get("nodeName")
    if not isinstance(node_name, str) or not node_name:
        return None
    if not ctx.serves(NODES):
        return Refused(
            reason="node_name",
            message=(
                f"spec.nodeName: node '{node_name}' cannot be checked against the host node's "
                "taints while the nodes kind is off; leave nodeName unset for the host scheduler"
            ),
        )
    node = ctx.host_cache(NODES).get("", node_name)
    if node is None:
        return None
    left = untolerated(node, items(spec.get("tolerations")))
    if not left:
        return None
    more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
    return Refused(
        reason="node_taint",
        message=(
            f"spec.nodeName: node '{node_name}' has the taint {describe(left[0])}{more}, which "
            "the pod does not tolerate; the host scheduler would not place it there"
        ),
        retry_after=TAINT_RETRY,
        retry_max=TAINT_RETRY_MAX,
    )


@dataclass(frozen=True, slots=True)
class PodPlacement:
    """The placement checks of new host pods; ``runtime_classes``: the classes allowed
    besides the copied ones (``MapperConfig.pod_runtime_classes``)."""

    runtime_classes: tuple[str, ...] = ()

    def refusal(self, ctx: SyncContext, v_pod: Obj) -> Refused | None:
        """The first placement refusal of ``v_pod`` (node, taints, runtime class), or ``None``."""
        return (
            node_refusal(ctx, v_pod)
            or taint_refusal(ctx, v_pod)
            or self.runtime_class_refusal(ctx, v_pod)
        )

    def runtime_class_refusal(self, ctx: SyncContext, v_pod: Obj) -> Refused | None:
        """A ``runtime_class`` refusal when ``v_pod`` names a class neither copied nor listed."""
        name = mapping(v_pod.get("spec")).get("runtimeClassName")
        if name is None or name in self.runtime_classes:
            return None
        copying = ctx.serves(RUNTIMECLASSES)
        if copying and isinstance(name, str) and ctx.host_cache(RUNTIMECLASSES).get("", name):
            return None
        return Refused(
            reason="runtime_class",
            message=(
                f"spec.runtimeClassName: runtime class {name!r} is neither copied from the host "
                "(runtimeclasses.node.k8s.io) nor listed in VSYNCER_POD_RUNTIME_CLASSES"
            ),
            retry_after=RUNTIME_CLASS_RETRY if copying else None,
        )
