"""Sleep mode for bare pods: the mark, the patches and the honest status (pure).

A *bare* pod is one no controller owns (no ownerReference with
``controller: true``): nothing would re-create it, so sleep mode cannot scale
it away.  Instead (as vcluster's sleep mode does for such pods) the virtual pod
is kept and only its host twin goes:

1. the sleep controller (:mod:`syncer.sleep`) *marks* the virtual pod with
   :data:`POD_MARK` — the intent, recorded before anything is deleted;
2. the pods mapper, seeing the mark, first rewrites the virtual status to
   :func:`slept_status` (then the pod no longer counts as started), then
   deletes the host twin; while the mark is there it never re-creates it;
3. waking, the sleep controller removes the mark; the pods mapper then finds a
   pod that never started (the slept status) without a host twin and creates
   it as for a new pod; its host status then replaces the slept one.

Crash-safe: each step is one write and every state in between converges.  A
pod killed between 2's status write and its delete keeps its host twin until
the next reconcile; a wake between them finds the twin still there and lets its
status flow up again.  Because the status goes first, a marked pod is never one
that "started and lost its host pod" (which vsyncer deletes), so a crash never
costs a tenant's pod.

Status while asleep: phase ``Pending``, no start time and no IPs, every
container waiting with reason :data:`SLEEP_REASON` (a terminated container of a
pod that never restarts keeps its state, which the API server requires),
``Ready`` and ``ContainersReady`` False with that reason, and the condition
:data:`SLEEPING_CONDITION` True.  Endpoints therefore drop the pod.

Finished pods (``Succeeded``/``Failed``) and terminating ones are not marked:
they run nothing, and a finished pod must never run again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]

#: The mark on a sleeping bare virtual pod (value ``"true"``); the cluster's marker key.
POD_MARK = "vsyncer.dev/sleeping"
#: The condition type a sleeping pod's status carries (True while asleep).
SLEEPING_CONDITION = "vsyncer.dev/Sleeping"
#: The reason on a sleeping pod's conditions and waiting containers.
SLEEP_REASON = "VirtualClusterSleeping"
SLEEP_MESSAGE = "the virtual cluster is asleep; the pod runs again when it wakes"
_FINISHED = frozenset({"Succeeded", "Failed"})
_NOT_READY = frozenset({"Ready", "ContainersReady"})
_DROPPED = frozenset({"startTime", "podIP", "podIPs", "hostIP", "hostIPs"})


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_bare(pod: Mapping[str, Any]) -> bool:
    """Whether no controller owns ``pod`` (no ownerReference with ``controller: true``)."""
    owners = _mapping(pod.get("metadata")).get("ownerReferences") or ()
    return not any(isinstance(o, Mapping) and o.get("controller") is True for o in owners)


def is_marked(pod: Mapping[str, Any]) -> bool:
    """Whether ``pod`` carries :data:`POD_MARK` (sleep mode holds its host twin back)."""
    annotations = _mapping(_mapping(pod.get("metadata")).get("annotations"))
    return POD_MARK in annotations


def is_slept(pod: Mapping[str, Any]) -> bool:
    """Whether ``pod``'s status is :func:`slept_status` (its :data:`SLEEPING_CONDITION` True)."""
    conditions = _mapping(pod.get("status")).get("conditions") or ()
    return any(
        isinstance(c, Mapping) and c.get("type") == SLEEPING_CONDITION and c.get("status") == "True"
        for c in conditions
    )


def may_sleep(pod: Mapping[str, Any]) -> bool:
    """Whether sleep mode marks ``pod``: bare, not terminating, not finished."""
    meta = _mapping(pod.get("metadata"))
    phase = _mapping(pod.get("status")).get("phase")
    return is_bare(pod) and not meta.get("deletionTimestamp") and phase not in _FINISHED


def _patch(pod: Mapping[str, Any], value: str | None) -> Json:
    rv = _mapping(pod.get("metadata")).get("resourceVersion")
    return {"metadata": {"resourceVersion": rv, "annotations": {POD_MARK: value}}}


def pod_sleep_patch(pod: Mapping[str, Any]) -> Json | None:
    """The merge patch marking ``pod`` (preconditioned on its version), or ``None`` when
    it is marked already or sleep mode leaves it alone (:func:`may_sleep`)."""
    if is_marked(pod) or not may_sleep(pod):
        return None
    return _patch(pod, "true")


def pod_wake_patch(pod: Mapping[str, Any]) -> Json | None:
    """The merge patch removing the mark (preconditioned), or ``None`` when unmarked."""
    return _patch(pod, None) if is_marked(pod) else None


def _container_asleep(status: Mapping[str, Any], *, keep_terminated: bool) -> Json:
    state = _mapping(status.get("state"))
    if keep_terminated and "terminated" in state:
        return dict(status)
    slept = {k: v for k, v in status.items() if k not in ("state", "lastState", "started")}
    slept["ready"] = False
    slept["started"] = False
    slept["state"] = {"waiting": {"reason": SLEEP_REASON, "message": SLEEP_MESSAGE}}
    return slept


def slept_status(pod: Mapping[str, Any], *, now: str) -> Json:
    """The status of sleeping ``pod`` (see the module docstring); ``now``: an RFC 3339
    time for the conditions' ``lastTransitionTime``.

    Derived from the pod's current status: its QoS class, scheduling condition
    and restart counts stay.
    """
    status = _mapping(pod.get("status"))
    never_restarts = _mapping(pod.get("spec")).get("restartPolicy", "Always") != "Always"
    slept: Json = {k: v for k, v in status.items() if k not in _DROPPED}
    slept["phase"] = "Pending"
    conditions = [
        dict(c)
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping) and c.get("type") not in (*_NOT_READY, SLEEPING_CONDITION)
    ]
    for kind in (*sorted(_NOT_READY), SLEEPING_CONDITION):
        conditions.append(
            {
                "type": kind,
                "status": "True" if kind == SLEEPING_CONDITION else "False",
                "reason": SLEEP_REASON,
                "message": SLEEP_MESSAGE,
                "lastTransitionTime": now,
            }
        )
    slept["conditions"] = conditions
    for field in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        if status.get(field):
            slept[field] = [
                _container_asleep(c, keep_terminated=never_restarts)
                for c in status[field]
                if isinstance(c, Mapping)
            ]
    return slept
