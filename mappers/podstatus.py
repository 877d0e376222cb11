"""What the host decides about a pod, as the virtual pod shows it: pure readers, no I/O.

Guarantees (vcluster's pod rules, fromHost):

* :func:`has_started` is the one test of "this pod ever started" that the
  reconcile and the drift check share (a start time, or a phase past Pending);
* :func:`virtual_status` is the host pod's status with the *virtual* QoS class
  kept (the virtual API server computed it and never lets it change), and
  :func:`status_for_virtual` answers ``None`` exactly when the virtual pod
  already shows it, so the reconcile writes, and the drift check reports, the
  same difference;
* :func:`binding` is the Binding that places the virtual pod on the host pod's node.
"""

from __future__ import annotations

from syncer.api import Obj
from syncer.kit import Json, mapping, meta, name_of, uid_of

_STARTED_PHASES = frozenset({"Running", "Succeeded", "Failed"})


def has_started(pod: Obj) -> bool:
    """Whether a pod ever started: it has a start time or left the Pending phase."""
    status = mapping(pod.get("status"))
    return bool(status.get("startTime")) or status.get("phase") in _STARTED_PHASES


def grace_period(obj: Obj) -> int | None:
    """``metadata.deletionGracePeriodSeconds`` (seconds) when it is an integer, else ``None``."""
    value = meta(obj).get("deletionGracePeriodSeconds")
    return int(value) if isinstance(value, int) else None


def virtual_status(v_pod: Obj, p_pod: Obj) -> Json:
    """The host pod's status as the virtual pod should show it (virtual QoS class kept)."""
    status = {k: v for k, v in mapping(p_pod.get("status")).items() if k != "qosClass"}
    qos = mapping(v_pod.get("status")).get("qosClass")
    if qos:
        status["qosClass"] = qos
    return status


def status_for_virtual(v_pod: Obj, p_pod: Obj) -> Json | None:
    """:func:`virtual_status` when the virtual pod does not show it yet, else ``None``.

    Shallow: the values below the top level are ``p_pod``'s own; copy before changing.
    """
    status = virtual_status(v_pod, p_pod)
    return None if status == mapping(v_pod.get("status")) else status


def binding(v_pod: Obj, node: str) -> Json:
    """The ``v1`` Binding of ``v_pod`` (by name and UID) to Node ``node``."""
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name_of(v_pod), "uid": uid_of(v_pod)},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
