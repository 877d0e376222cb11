"""Node taints that follow node conditions, as Kubernetes' node lifecycle controller keeps them.

The virtual cluster runs without that controller (it would evict pods from
nodes no kubelet reports on), yet the virtual API server's
``TaintNodesByCondition`` admission plugin gives every new Node the
``node.kubernetes.io/not-ready:NoSchedule`` taint, which only that controller
removes.  For the fake nodes it owns, vsyncer keeps the taints the controller
would (``pkg/controller/nodelifecycle``), so DaemonSets and tolerations behave
as in any cluster:

* NoSchedule, one per condition: ``Ready`` False → ``not-ready``, ``Ready``
  Unknown (or no Ready condition) → ``unreachable``; ``MemoryPressure``,
  ``DiskPressure``, ``PIDPressure`` True → ``memory-pressure``,
  ``disk-pressure``, ``pid-pressure``; ``NetworkUnavailable`` True →
  ``network-unavailable``; ``spec.unschedulable`` → ``unschedulable``;
* NoExecute: ``Ready`` False → ``not-ready``, Unknown → ``unreachable``, with
  ``timeAdded``; Ready True → neither.

Guarantees (:func:`condition_taints`, pure): only taints of those keys with
those effects are added or removed; every other taint (a tenant's, or one of
those keys with another effect) is kept, in its place; a managed taint that
stays keeps its value and ``timeAdded``; the result is a function of the node
alone and the clock (applying it twice changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappers.tokens import format_time
from syncer.api import Obj
from syncer.kit import mapping

Json = dict[str, Any]
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"

#: (condition type, status) → the NoSchedule taint key it brings.
CONDITION_TAINTS: Mapping[tuple[str, str], str] = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
#: Every (key, effect) this module adds or removes; other taints are never touched.
MANAGED: frozenset[tuple[str, str]] = frozenset(
    {(key, NO_SCHEDULE) for key in CONDITION_TAINTS.values()}
    | {(UNSCHEDULABLE, NO_SCHEDULE), (NOT_READY, NO_EXECUTE), (UNREACHABLE, NO_EXECUTE)}
)


def _ready_status(status: Mapping[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if mapping(condition).get("type") == "Ready":
            value = mapping(condition).get("status")
            return value if value in ("True", "False") else "Unknown"
    return "Unknown"


def wanted(node: Obj) -> list[tuple[str, str]]:
    """The managed ``(key, effect)`` pairs ``node``'s conditions and spec call for."""
    status = mapping(node.get("status"))
    conditions = {
        mapping(c).get("type"): mapping(c).get("status") for c in status.get("conditions") or []
    }
    conditions["Ready"] = _ready_status(status)
    pairs = [
        (key, NO_SCHEDULE)
        for (kind, value), key in CONDITION_TAINTS.items()
        if conditions.get(kind) == value
    ]
    if mapping(node.get("spec")).get("unschedulable") is True:
        pairs.append((UNSCHEDULABLE, NO_SCHEDULE))
    ready = conditions["Ready"]
    if ready != "True":
        pairs.append((NOT_READY if ready == "False" else UNREACHABLE, NO_EXECUTE))
    return pairs


def condition_taints(node: Obj, *, now: float) -> list[Json]:
    """``node``'s ``spec.taints`` as the lifecycle controller would leave them.

    ``now`` (seconds since the epoch) stamps ``timeAdded`` of a NoExecute taint
    that is added.  Shape: a list of ``{key, effect[, value][, timeAdded]}``.
    """
    want = wanted(node)
    taints: list[Json] = []
    for taint in mapping(node.get("spec")).get("taints") or []:
        pair = (mapping(taint).get("key"), mapping(taint).get("effect"))
        if pair not in MANAGED or pair in want:
            taints.append({k: taint[k] for k in taint})
    present = {(t.get("key"), t.get("effect")) for t in taints}
    for key, effect in want:
        if (key, effect) not in present:
            added: Json = {"key": key, "effect": effect}
            if effect == NO_EXECUTE:
                added["timeAdded"] = format_time(now)
            taints.append(added)
    return taints


def taints_stale(node: Obj, *, now: float) -> bool:
    """Whether :func:`condition_taints` would change ``node``'s taints."""
    current = [dict(mapping(t)) for t in mapping(node.get("spec")).get("taints") or []]
    return condition_taints(node, now=now) != current
