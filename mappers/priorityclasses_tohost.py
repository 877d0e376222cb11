"""PriorityClasses (toHost): the tenant's priority classes, as cluster-scoped host copies.

On with ``VSYNCER_TO_HOST_PRIORITY_CLASSES`` (:mod:`syncer.kind_settings`), as
vcluster's ``sync.toHost.priorityClasses``: the kind
``priorityclasses.scheduling.k8s.io`` then syncs down instead of copying the
host's classes up, and a synced pod's ``priorityClassName`` names the host copy
(:func:`host_priority_class_name`).

Guarantees, field by field (``scheduling.k8s.io/v1`` PriorityClass of Kubernetes v1.36):

=====================  =========================================================
field                  on the host
=====================  =========================================================
name                   ``safe_concat("vcluster", name, "x", host namespace, "x",
                       vcluster)``, vcluster's cluster-scoped rule
                       (:meth:`~syncer.api.Translator.host_cluster_name`); labels
                       and annotations as for every copied kind (marker label,
                       provenance without a namespace)
``value``              kept when below :data:`MAX_VALUE`; from it up (the range
                       of the host's ``system-`` classes, which Kubernetes also
                       keeps user classes out of) the class is refused
                       (``priority_value``: a Warning event and
                       ``vsyncer_refused_objects_total``) and looked at again
                       whenever it changes (``value`` is immutable, so a lower
                       value comes as a new object of the same name, whose
                       events bring the key back)
``globalDefault``      never set (``false``): one default per cluster, and the
                       host's is the host admin's; the tenant's default still
                       applies inside the virtual cluster, whose admission
                       writes the class name into the pod
``description``,       kept
``preemptionPolicy``
anything else          refused (``unknown_field``)
=====================  =========================================================

Classes named ``system-…`` (the virtual API server's own
``system-cluster-critical`` and ``system-node-critical``; Kubernetes reserves
the prefix) are never synced: the host has its own, and pods keep naming them.
A host copy whose ``value`` or ``preemptionPolicy`` differs (both immutable)
is deleted and made again.  Host writes are cluster-scoped: the chart grants
them in a ClusterRole only while this setting is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappers.servicespec import unknown_field
from syncer.api import (
    OBJECT_HOST_NAME_ANNOTATION,
    PRIORITYCLASSES,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    SyncContext,
    Translator,
)
from syncer.kit import CopySyncer, Json, name_of

#: From this value up a class is refused: Kubernetes' ``HighestUserDefinablePriority``
#: bounds user classes, the host's ``system-`` classes sit at twice that.
MAX_VALUE = 1_000_000_000
#: The name prefix Kubernetes reserves for its own classes: never synced, kept on pods.
SYSTEM_PREFIX = "system-"
#: The synced fields of a PriorityClass (``globalDefault`` is never synced).
CONTENT_FIELDS = ("value", "description", "preemptionPolicy")
#: Every other top-level field a PriorityClass may carry.
_KNOWN = frozenset({"apiVersion", "kind", "metadata", "globalDefault", *CONTENT_FIELDS})
#: Immutable on a PriorityClass: a change replaces the host copy.
_IMMUTABLE = ("value", "preemptionPolicy")


def is_system_class(name: str) -> bool:
    """Whether ``name`` is one of Kubernetes' own classes (the reserved ``system-`` prefix)."""
    return name.startswith(SYSTEM_PREFIX)


def host_priority_class_name(name: str, *, translator: Translator) -> str:
    """The host class a synced pod names for virtual class ``name`` (``system-…`` as it is)."""
    return name if is_system_class(name) else translator.host_cluster_name(name)


def check_priority_class(v_obj: Obj) -> None:
    """Raise :class:`Refused` for a class that must not reach the host (see the module)."""
    for field in sorted(v_obj):
        if field not in _KNOWN:
            raise unknown_field(field, "PriorityClass")
    value = v_obj.get("value")
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(reason="priority_value", message=f"value: {value!r} is not an integer")
    if value >= MAX_VALUE:
        raise Refused(
            reason="priority_value",
            message=f"value: {value} is at or above {MAX_VALUE:,}, the host's system classes'"
            " range; a class below it is synced",
        )


class PriorityClassMapper(CopySyncer):
    """The tenant's classes down as cluster-scoped host copies (see the module)."""

    synced_fields = CONTENT_FIELDS
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=PRIORITYCLASSES, translator=translator)

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return self.translator.host_cluster_name(key.name)

    def host_metadata(self, v_obj: Obj, p_obj: Obj | None = None, **kw: Any) -> Json:
        """The kit's metadata, moved to the cluster-scoped name (no namespace)."""
        metadata = super().host_metadata(v_obj, p_obj, **kw)
        p_name = self.translator.host_cluster_name(name_of(v_obj))
        metadata.pop("namespace", None)
        metadata["name"] = p_name
        metadata["annotations"][OBJECT_HOST_NAME_ANNOTATION] = p_name
        return metadata

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        """The host class; ``None`` for a ``system-`` class; raises :class:`Refused`."""
        if is_system_class(name_of(v_obj)):
            return None
        check_priority_class(v_obj)
        return super().desired_host(ctx, v_obj, p_obj)

    def must_recreate(self, p_obj: Obj, desired: Json) -> bool:
        return any(_field(p_obj, f) != _field(desired, f) for f in _IMMUTABLE)

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for every copied kind; a refused class is not synced on purpose: no drift."""
        try:
            return super().drift(ctx, v_obj, p_obj)
        except Refused:
            return None


def _field(obj: Mapping[str, Any], field: str) -> Any:
    """A field as the API server stores it (``preemptionPolicy`` defaults to preempting)."""
    value = obj.get(field)
    if field == "preemptionPolicy" and value is None:
        return "PreemptLowerPriority"
    return value
