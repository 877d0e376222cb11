"""Sleep and wake, one object at a time: the patches that record and restore (pure).

Sleep mode stops an idle virtual cluster's workloads; the state lives in the
objects themselves, never in memory, so any process can finish what another
one began.  Per workload object:

* **Scaled kinds** (Deployments, StatefulSets, ReplicaSets a Deployment does
  not own): going to sleep records ``spec.replicas`` (1 when unset, as the API
  server defaults it) in :data:`REPLICAS_ANNOTATION` and sets it to 0 — *in
  one patch*, so no state exists in which the count is gone but not recorded.
  Waking removes the annotation and sets ``spec.replicas`` back, again in one
  patch; if the tenant changed the count while the object slept (it is not 0
  any more) the tenant's count is kept and only the annotation goes.
* **Pinned kinds** (DaemonSets, which cannot scale): going to sleep adds the
  node selector ``vsyncer.dev/sleeping=true`` (no node has it, so their pods go)
  and the record :data:`PIN_ANNOTATION`; waking removes exactly that key and the
  record, leaving the tenant's own selector as it was.
* **Suspended kinds** (CronJobs, and Jobs that have not finished — a suspended
  Job's pods are deleted and re-created on resume): the same with
  ``spec.suspend`` (``false`` when unset) in :data:`SUSPEND_ANNOTATION`, set to
  ``true`` while asleep.

Every patch carries the ``metadata.resourceVersion`` it was computed from, so
the API server applies it only to that very version (a concurrent change is a
409 and a fresh look, never a stale count recorded).  Both directions are
idempotent: :func:`sleep_patch` of a sleeping object and :func:`wake_patch` of
an awake one are ``None``.

A namespace labelled :data:`EXCLUDE_LABEL` ``=true`` is left awake.
:func:`is_sleep_write` recognises the change one of these patches makes, so it
is not taken for tenant activity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]

#: The replica count a sleeping scaled object had (a decimal integer).
REPLICAS_ANNOTATION = "vsyncer.dev/sleep-replicas"
#: The ``spec.suspend`` a sleeping CronJob had (``true`` / ``false``).
SUSPEND_ANNOTATION = "vsyncer.dev/sleep-suspend"
#: A virtual namespace labelled with this (value ``true``) keeps running while the cluster sleeps.
EXCLUDE_LABEL = "vsyncer.dev/sleep-exclude"
#: Kinds (plural) put to sleep by scaling to zero, and by suspending.
SCALED = frozenset({"deployments", "statefulsets", "replicasets"})
SUSPENDED = frozenset({"cronjobs", "jobs"})
#: Kinds put to sleep by a node selector no node matches (DaemonSets cannot scale).
PINNED = frozenset({"daemonsets"})
#: The record of a pinned DaemonSet (``true``), and the selector key that pins it.
PIN_ANNOTATION = "vsyncer.dev/sleep-pinned"
PIN_LABEL = "vsyncer.dev/sleeping"


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = obj.get("metadata") if obj is not None else None
    return meta if isinstance(meta, Mapping) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _annotation(obj: Mapping[str, Any], key: str) -> str | None:
    annotations = _meta(obj).get("annotations")
    value = annotations.get(key) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else None


def is_target(plural: str, obj: Mapping[str, Any]) -> bool:
    """Whether sleep acts on ``obj`` itself: a scaled or suspended kind, and for a
    ReplicaSet only one no Deployment controls (the Deployment is scaled instead)."""
    if plural in PINNED:
        return True
    if plural == "jobs":
        return not _finished(obj) or is_asleep(plural, obj)
    if plural in SUSPENDED:
        return True
    if plural not in SCALED:
        return False
    if plural == "replicasets":
        owners = _meta(obj).get("ownerReferences") or ()
        return not any(
            isinstance(o, Mapping) and o.get("controller") is True and o.get("kind") == "Deployment"
            for o in owners
        )
    return True


def _finished(job: Mapping[str, Any]) -> bool:
    """Whether a Job has its Complete or Failed condition (nothing left to stop)."""
    status = job.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    return any(
        isinstance(c, Mapping)
        and c.get("type") in ("Complete", "Failed")
        and c.get("status") == "True"
        for c in conditions or ()
    )


def excluded(namespace: Mapping[str, Any] | None) -> bool:
    """Whether a virtual namespace is labelled to keep running while the cluster sleeps."""
    labels = _meta(namespace).get("labels")
    return isinstance(labels, Mapping) and labels.get(EXCLUDE_LABEL) == "true"


def is_asleep(plural: str, obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` carries its sleep record."""
    key = (
        REPLICAS_ANNOTATION
        if plural in SCALED
        else PIN_ANNOTATION
        if plural in PINNED
        else SUSPEND_ANNOTATION
    )
    return _annotation(obj, key) is not None


def _pin(value: str | None) -> Json:
    """The spec part of a merge patch adding (``"true"``) or removing (``None``) the pin."""
    return {"template": {"spec": {"nodeSelector": {PIN_LABEL: value}}}}


def _unpinned(spec: Mapping[str, Any]) -> Any:
    """``spec`` as it is without the pin (an emptied ``nodeSelector`` left out)."""
    template = dict(spec.get("template") or {})
    pod = dict(template.get("spec") or {})
    selector = {k: v for k, v in (pod.get("nodeSelector") or {}).items() if k != PIN_LABEL}
    pod.pop("nodeSelector", None)
    if selector:
        pod["nodeSelector"] = selector
    template["spec"] = pod
    return {**spec, "template": template}


def _replicas(obj: Mapping[str, Any]) -> int:
    value = _spec(obj).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _suspend(obj: Mapping[str, Any]) -> bool:
    return _spec(obj).get("suspend") is True


def _patch(obj: Mapping[str, Any], *, annotation: str, value: str | None, spec: Json) -> Json:
    return {
        "metadata": {
            "resourceVersion": _meta(obj).get("resourceVersion"),
            "annotations": {annotation: value},
        },
        "spec": spec,
    }


def sleep_patch(plural: str, obj: Mapping[str, Any]) -> Json | None:
    """The merge patch putting ``obj`` to sleep, or ``None`` (asleep already, not a target)."""
    if not is_target(plural, obj) or is_asleep(plural, obj):
        return None
    if plural in SCALED:
        return _patch(
            obj, annotation=REPLICAS_ANNOTATION, value=str(_replicas(obj)), spec={"replicas": 0}
        )
    if plural in PINNED:
        return _patch(obj, annotation=PIN_ANNOTATION, value="true", spec=_pin("true"))
    return _patch(
        obj,
        annotation=SUSPEND_ANNOTATION,
        value="true" if _suspend(obj) else "false",
        spec={"suspend": True},
    )


def wake_patch(plural: str, obj: Mapping[str, Any]) -> Json | None:
    """The merge patch waking ``obj`` exactly as it was, or ``None`` (awake already).

    A record that is not what :func:`sleep_patch` writes (a tenant's own value
    under the key) is dropped and the spec left as it is.
    """
    if plural in SCALED:
        recorded = _annotation(obj, REPLICAS_ANNOTATION)
        if recorded is None:
            return None
        current = _spec(obj).get("replicas")
        spec: Json = {}
        if recorded.isdigit() and current == 0:
            spec = {"replicas": int(recorded)}
        return _patch(obj, annotation=REPLICAS_ANNOTATION, value=None, spec=spec)
    if plural in SUSPENDED:
        recorded = _annotation(obj, SUSPEND_ANNOTATION)
        if recorded is None:
            return None
        spec = {}
        if recorded in ("true", "false") and _suspend(obj):
            spec = {"suspend": recorded == "true"}
        return _patch(obj, annotation=SUSPEND_ANNOTATION, value=None, spec=spec)
    if plural in PINNED and _annotation(obj, PIN_ANNOTATION) is not None:
        return _patch(obj, annotation=PIN_ANNOTATION, value=None, spec=_pin(None))
    return None


def is_sleep_write(plural: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``old`` → ``new`` is what a sleep or wake patch does: the sleep record
    appears or goes, and besides it at most the recorded spec field changes."""
    if plural not in SCALED and plural not in SUSPENDED and plural not in PINNED:
        return False
    if is_asleep(plural, old) == is_asleep(plural, new):
        return False
    if plural in PINNED:
        return bool(_unpinned(_spec(old)) == _unpinned(_spec(new)))
    field = "replicas" if plural in SCALED else "suspend"
    old_spec = {k: v for k, v in _spec(old).items() if k != field}
    new_spec = {k: v for k, v in _spec(new).items() if k != field}
    return old_spec == new_spec
