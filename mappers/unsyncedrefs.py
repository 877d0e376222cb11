"""References of a pod to kinds whose mappers are off: said, never silent.

A virtual pod may name secrets, configmaps and PVCs (:mod:`mappers.references`);
the host pod names their host copies, which only the mapper of that kind makes.
With that kind left out of ``VSYNCER_KINDS`` the copy never appears: the host
pod waits for it (or runs without an ``optional`` one).  vsyncer still creates
the host pod — an optional reference, or an image pull secret the registry does
not need, lets it run — but says so: :func:`unsynced_message` names every such
reference by its JSON path, for one Warning event ``ReferencesNotSynced`` on the
virtual pod when its host pod is created.

The token Secret and the virtual CA are not references (the pods mapper keeps
them itself, :mod:`mappers.podtokens`), nor is ``kube-root-ca.crt``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mappers.podguard import Reference, references
from syncer.api import Obj, SyncContext

EVENT_REASON = "ReferencesNotSynced"


def unsynced_references(ctx: SyncContext, v_pod: Obj) -> list[Reference]:
    """The references of ``v_pod`` whose kind is not enabled here, in a stable order."""
    return [ref for ref in references(v_pod) if not ctx.serves(ref.resource)]


def unsynced_message(refs: Sequence[Reference]) -> str:
    """One line naming each reference, its field and the kind to enable."""
    parts = [
        f"{ref.field}: {ref.resource.kind.lower()} {ref.name!r} is not synced "
        f"({ref.resource.qualified!r} is not in VSYNCER_KINDS)"
        for ref in refs
    ]
    return "; ".join(parts) + "; the host pod names copies that will not exist"


async def warn_unsynced(ctx: SyncContext, v_pod: Obj) -> None:
    """Record the Warning event for ``v_pod``'s unsynced references, if it has any."""
    refs = unsynced_references(ctx, v_pod)
    if refs:
        await ctx.record_event(
            v_pod,
            type_="Warning",
            reason=EVENT_REASON,
            message=unsynced_message(refs),
            kind="Pod",
        )
