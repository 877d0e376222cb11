"""The pods mapper's part of sleep mode: a marked bare pod's host twin goes, the pod stays.

Sleep mode (:mod:`syncer.sleep_pods` states the whole protocol) marks a bare
virtual pod before its host twin may go.  For a marked pod the pods reconcile
calls :func:`put_to_sleep` instead of syncing, which, in this order:

1. rewrites the virtual status to the slept one (phase ``Pending``, no start
   time, the ``vsyncer.dev/Sleeping`` condition) unless it shows it already —
   so from then on the pod never counts as "started and lost its host pod";
2. deletes the host twin (UID precondition, the pod's own grace period);
   already terminating or gone is fine.

While marked, a pod without a host twin is left as it is (nothing is
re-created, nothing deleted).  After the mark goes the pod has not started,
so the ordinary path re-creates its host twin; a host twin still terminating
under a slept pod is waited for, never taken for a pod that stopped.
"""

from __future__ import annotations

import datetime

from syncer.api import DONE, PODS, Obj, Result, SyncContext, is_slept, slept_status
from syncer.kit import delete_on_host, is_terminating, name_of, namespace_of


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def put_to_sleep(ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
    """Steps 1 and 2 above for marked ``v_obj`` and its host twin ``p_obj``."""
    if not is_slept(v_obj):
        body = {**v_obj, "status": slept_status(v_obj, now=_now())}
        await ctx.virtual.update_status(
            PODS, namespace=namespace_of(v_obj), name=name_of(v_obj), body=body
        )
    if not is_terminating(p_obj):
        await delete_on_host(ctx, PODS, p_obj)
    return DONE
