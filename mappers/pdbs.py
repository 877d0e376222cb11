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

A budget that allows no disruption at all (:func:`blocking_field`:
``maxUnavailable`` ``0`` or ``0%``, ``minAvailable`` ``100%``, or a counted
``desiredHealthy`` of every expected pod) would stop every drain of the host
nodes its pods run on, for the host's admin as much as for the tenant.
vcluster passes it through; ``VSYNCER_PDB_NO_DISRUPTION``
(:attr:`~syncer.api.MapperConfig.pdb_no_disruption`) decides here:

* ``clamp`` (the default): once the virtual cluster has counted the budget's
  pods, the host copy gets ``minAvailable`` = the expected pods minus one, so a
  drain moves one pod at a time and the tenant keeps all but one running
  (until counted, the spec as it is, as for every budget of that form);
* ``refuse``: refused (``pdb_no_disruption``, a Warning event and the metric)
  while it allows no disruption; the virtual status's next count (more pods)
  or a change of the spec brings it back.  An existing host copy stays as it
  was;
* ``allow``: passed through, as vcluster does.

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
from syncer.api import PDBS, MapperConfig, Obj, Refused, Resource, SyncContext, Translator, thaw
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


def _counted(v_obj: Obj) -> int | None:
    """``expectedPods`` of the virtual status when it is a count of this generation."""
    status = mapping(v_obj.get("status"))
    generation = mapping(v_obj.get("metadata")).get("generation")
    expected = status.get("expectedPods")
    if generation is None or status.get("observedGeneration") != generation:
        return None
    return expected if _count(expected) and expected > 0 else None


def blocking_field(v_obj: Obj) -> str | None:
    """The field by which the budget allows no disruption at all, as ``path: why``; ``None``
    when it allows some (or cannot be told yet)."""
    spec, status = mapping(v_obj.get("spec")), mapping(v_obj.get("status"))
    if spec.get("maxUnavailable") in (0, "0%"):
        return f"spec.maxUnavailable: {spec['maxUnavailable']!r} lets no pod go"
    if spec.get("minAvailable") == "100%":
        return "spec.minAvailable: '100%' keeps every pod"
    expected, desired = _counted(v_obj), status.get("desiredHealthy")
    if expected is not None and _count(desired) and desired >= expected:
        field = "minAvailable" if "minAvailable" in spec else "maxUnavailable"
        return f"spec.{field}: keeps all {expected} pods it counts"
    return None


class PodDisruptionBudgetMapper(CopySyncer):
    """Spec down with a confined selector; the status stays each cluster's (see the module)."""

    synced_fields = ("spec",)
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(self, *, translator: Translator, no_disruption: str = "clamp") -> None:
        super().__init__(resource=PDBS, translator=translator)
        self.no_disruption = no_disruption

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        """The host budget; raises :class:`Refused` for a spec that must not reach the host."""
        body = super().desired_host(ctx, v_obj, p_obj)
        if body is None:
            return None
        spec = host_budget_spec(
            mapping(v_obj.get("spec")), namespace=namespace_of(v_obj), translator=self.translator
        )
        minimum = counted_minimum(v_obj)
        blocking = blocking_field(v_obj) if self.no_disruption != "allow" else None
        if blocking is not None and self.no_disruption == "refuse":
            raise Refused(
                reason="pdb_no_disruption",
                message=f"{blocking}: it would stop every drain of the host's nodes"
                " (VSYNCER_PDB_NO_DISRUPTION)",
            )
        expected = _counted(v_obj) if blocking is not None else None
        if expected is not None:
            minimum = expected - 1  # clamp: one pod at a time may go
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


def make(
    *, translator: Translator, config: MapperConfig | None = None
) -> PodDisruptionBudgetMapper:
    """Entry-point factory."""
    no_disruption = (config or MapperConfig()).pdb_no_disruption
    return PodDisruptionBudgetMapper(translator=translator, no_disruption=no_disruption)
