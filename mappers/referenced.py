"""What is pod-specific about configmaps and secrets synced while a pod refers to them.

The generic part (index lookup, watch of the referrers, create/delete) is
:class:`syncer.kit.ReferencedCopySyncer`; here the referrer is the virtual
pod, the indexes are the pods mapper's (:mod:`mappers.references`), and a
copy is refused under a host name that a running host pod uses for a
colliding partner (``Refused`` with reason ``reference_collision``, looked at
again later, :mod:`mappers.collisions`), so such a pod never starts to read
another namespace's object.  A host object already held by another virtual
object's copy is never taken over (the engine drops the key with a Warning
event, :mod:`syncer.sync`).
"""

from __future__ import annotations

from mappers.collisions import claimed_by_partner
from mappers.references import pod_references
from syncer.api import PODS, Obj, ObjectKey, Refused, Resource, SyncContext
from syncer.kit import ReferencedCopySyncer, name_of, namespace_of


class PodReferencedCopySyncer(ReferencedCopySyncer):
    """A copy kind whose host object exists only while some virtual pod refers to it."""

    referrer = PODS
    #: Reads besides its own kind: the pods (their reference index; host pods for collisions).
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({PODS})

    def refusal(self, ctx: SyncContext, v_obj: Obj) -> Refused | None:
        return claimed_by_partner(
            ctx,
            resource=self.resource,
            index=self.index,
            namespace=namespace_of(v_obj),
            name=name_of(v_obj),
        )

    def keys_of_pod(self, pod: Obj) -> list[ObjectKey]:
        """The keys of this kind a pod refers to."""
        return self.keys_of_referrer(pod)


def referenced_configmaps(pod: Obj) -> frozenset[str]:
    return pod_references(pod).configmaps


def referenced_secrets(pod: Obj) -> frozenset[str]:
    return pod_references(pod).secrets
