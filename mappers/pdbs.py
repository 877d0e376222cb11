"""PodDisruptionBudgets (``policy/v1``): the tenant's budgets guard its pods on the host too.

An optional toHost kind (``poddisruptionbudgets.policy`` in ``VSYNCER_KINDS``),
as vcluster's budget syncer: host evictions (a node drain) go through the host
copy, which must count exactly the host pods of the tenant's budget.

Guarantees, field by field (``PodDisruptionBudgetSpec`` of Kubernetes v1.36):

================================  ==============================================
field                             on the host
================================  ==============================================
``selector``                      translated and confined to the budget's
                                  virtual namespace of this vcluster
                                  (:func:`mappers.policyselectors.pod_selector`);
                                  ``{}`` is every pod of that namespace; a
                                  missing selector stays missing (no pod, as in
                                  ``policy/v1``)
``minAvailable`` (a number),      kept as they are
``unhealthyPodEvictionPolicy``
``maxUnavailable``, or a          ``minAvailable: <the virtual status's
percentage ``minAvailable``       desiredHealthy>`` once the virtual disruption
                                  controller has counted the budget's pods for
                                  this generation (:func:`counted_minimum`);
                                  until then kept as they are
anything else                     refused (``unknown_field``)
================================  ==============================================

Why the rewrite: Kubernetes' disruption controller turns ``maxUnavailable``
and percentages into pod counts through each pod's controller (its scale).
Host pods carry no controller reference (the virtual ReplicaSet is not on the
host), so a host budget of that form counts no pod and allows no eviction at
all.  The virtual cluster has the controllers; the number it derives is the
tenant's budget, and a plain ``minAvailable`` needs no controller on the host.
The tenant can write that status, but only to loosen its own pods' budget,
which it may do through the spec anyway.

``status`` does **not** come up, on purpose: the virtual cluster's own
disruption controller writes it, from the virtual pods (whose readiness the
pods mapper brings up from the host), and the virtual eviction API reads it.
A copy of the host's status would be a second writer of the same field, and
the two count differently (the virtual one expects the controllers' replicas,
the host one the pods it sees, which differ while a ReplicaSet scales, or for
a budget the host could not count): each then overwrites the other at once,
measured at about 40 writes a second on the local control plane.  The host
copy's status stays on the host (``kubectl get pdb`` there, and host
evictions, read it).  A refused update leaves the host copy as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from mappers.policyselectors import pod_selector
from mappers.servicespec import unknown_field
from syncer.api import PDBS, Obj, Refused, Resource, SyncContext, Translator, thaw
from syncer.kit import CopySyncer, Json, items, mapping, namespace_of

#: Every field of the v1.36 PodDisruptionBudgetSpec.
SPEC_FIELDS = frozenset(
    {"selector", "minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"}
)


def host_budget_spec(spec: Mapping[str, Any], *, namespace: str, translator: Translator) -> Json:
    """The host spec of a budget of ``namespace``; raises :class:`Refused`.  Pure."""
    for field in sorted(spec):
        if field not in SPEC_FIELDS:
            raise unknown_field(f"spec.{field}", "PodDisruptionBudgetSpec")
    host: Json = thaw(dict(spec))
    if spec.get("selector") is not None:
        host["selector"] = pod_selector(
            mapping(spec.get("selector")),
            namespace=namespace,
            translator=translator,
            path="spec.selector",
        )
    return host


def counted_minimum(v_obj: Obj) -> int | None:
    """The virtual budget as a pod count (``desiredHealthy``), if it must and can be one.

    ``None`` when its spec is already a plain ``minAvailable`` number, or when
    the virtual status is not a count of this generation: not observed yet, no
    pods expected, or the controller failed to count (reason ``SyncFailed``).
    """
    spec, status = mapping(v_obj.get("spec")), mapping(v_obj.get("status"))
    if "maxUnavailable" not in spec and not isinstance(spec.get("minAvailable"), str):
        return None
    generation = mapping(v_obj.get("metadata")).get("generation")
    if generation is None or status.get("observedGeneration") != generation:
        return None
    expected, desired = status.get("expectedPods"), status.get("desiredHealthy")
    if not _count(expected) or not _count(desired) or expected == 0:
        return None
    for condition in items(status.get("conditions")):
        if mapping(condition).get("reason") == "SyncFailed":
            return None
    return desired


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class PodDisruptionBudgetMapper(CopySyncer):
    """Spec down with a confined selector; the status stays each cluster's (see the module)."""

    synced_fields = ("spec",)
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=PDBS, translator=translator)

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        """The host budget; raises :class:`Refused` for a spec that must not reach the host."""
        body = super().desired_host(ctx, v_obj, p_obj)
        if body is None:
            return None
        spec = host_budget_spec(
            mapping(v_obj.get("spec")), namespace=namespace_of(v_obj), translator=self.translator
        )
        minimum = counted_minimum(v_obj)
        if minimum is not None:
            spec.pop("maxUnavailable", None)
            spec["minAvailable"] = minimum
        body["spec"] = spec
        return body

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for every copied kind; a refused budget is not synced on purpose: no drift."""
        try:
            return super().drift(ctx, v_obj, p_obj)
        except Refused:
            return None


def make(*, translator: Translator) -> PodDisruptionBudgetMapper:
    """Entry-point factory."""
    return PodDisruptionBudgetMapper(translator=translator)
