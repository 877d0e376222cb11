"""Events (fromHost): host events about synced objects, re-created against the virtual object.

Keys.  A host event names its host object only by host name, which cannot be
inverted without that object's provenance annotations — a cache read, not a
pure mapping.  So an event's queue key is ``ObjectKey("events", "", <host event
name>)``: it names the host event, the virtual event gets the same name, and the
reconcile resolves the virtual namespace and object from the host object's
annotations.  Virtual events (keys with a namespace) map to nothing: events are
never synced down.

Guarantees:

* only events in the host namespace about a kind this syncer copies (pods,
  services, endpoints, configmaps, secrets, PVCs; that kind's mapper enabled)
  are considered, and only when the host object is ours
  (:meth:`Translator.is_owned`), has the UID the event names, and its virtual
  object exists;
* the virtual event points at the virtual object (name, namespace, UID) and
  its message names the virtual object instead of the host one; count,
  timestamps and message follow the host event;
* a virtual event of the same name that the syncer did not create is never
  touched; events are not deleted (both sides expire them by TTL);
* an event whose host or virtual object is not cached (yet) is retried every
  second while the event is less than :data:`RETRY_WINDOW` seconds old (by its
  last timestamp, else its creation), then dropped;
* not a :class:`~syncer.api.DriftDetector`: events flow one way and expire by
  TTL, and keys name host events, most of which rightly have no virtual copy,
  so the drift check's missing/orphan comparison does not fit; a host event a
  dead watch missed is still found by the drift check's live LIST and handed
  to the usual path.
"""

from __future__ import annotations

import time
from typing import Any

from mappers.tokens import parse_time
from syncer.api import (
    CONFIGMAPS,
    DONE,
    ENDPOINTS,
    EVENTS,
    PODS,
    PVCS,
    SECRETS,
    SERVICES,
    AlreadyExists,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import Json, annotations_of, mapping, meta, name_of, uid_of

#: On a virtual event the syncer made: the UID of the host event it copies.
HOST_EVENT_ANNOTATION = "vsyncer.dev/host-event-uid"
SYNCED_KINDS: dict[str, Resource] = {
    r.kind: r for r in (PODS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, PVCS)
}
#: How long an event whose host object is not (yet) cached is retried: longer than a
#: reflector's longest watch backoff (client-go's 30 s plus up to 100 % jitter), so a
#: cache that is backing off after cut connections still catches up within it.
RETRY_WINDOW = 90.0
_COPIED = (
    "reason",
    "message",
    "type",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "count",
    "series",
    "action",
    "reportingComponent",
    "reportingInstance",
)


def virtual_event(
    p_event: Obj, *, v_obj: Obj, resource: Resource, p_name: str, host_namespace: str
) -> Json:
    """The virtual copy of ``p_event`` about ``v_obj`` (whose host name is ``p_name``)."""
    v_namespace, v_name = str(meta(v_obj).get("namespace")), name_of(v_obj)
    involved = mapping(p_event.get("involvedObject"))
    body: Json = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name_of(p_event),
            "namespace": v_namespace,
            "annotations": {HOST_EVENT_ANNOTATION: uid_of(p_event)},
        },
        "involvedObject": {
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            "name": v_name,
            "namespace": v_namespace,
            "uid": uid_of(v_obj),
        },
    }
    if involved.get("fieldPath"):
        body["involvedObject"]["fieldPath"] = involved["fieldPath"]
    for field in _COPIED:
        if p_event.get(field) is not None:
            body[field] = thaw({field: p_event[field]})[field]
    if isinstance(body.get("message"), str):
        body["message"] = (
            body["message"]
            .replace(f"{host_namespace}/{p_name}", f"{v_namespace}/{v_name}")
            .replace(p_name, v_name)
        )
    return body


def _changed(existing: Obj, desired: Json) -> bool:
    return any(thaw({f: existing.get(f)}) != thaw({f: desired.get(f)}) for f in _COPIED)


class EventMapper:
    """fromHost events; see the module docstring for the key scheme."""

    resource = EVENTS
    host_label_selector: str | None = None  # host events carry no marker label
    # Both caches of the object an event is about, while that kind's mapper runs.
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset(SYNCED_KINDS.values())

    def __init__(self, *, translator: Translator) -> None:
        self.translator = translator

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return key.name if not key.namespace else None

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        if not self.is_managed(p_obj):
            return None
        return ObjectKey(EVENTS.plural, "", name_of(p_obj))

    def is_managed(self, p_obj: Obj) -> bool:
        involved = mapping(p_obj.get("involvedObject"))
        return (
            meta(p_obj).get("namespace") == self.translator.host_namespace
            and involved.get("namespace") == self.translator.host_namespace
            and involved.get("kind") in SYNCED_KINDS
            and bool(involved.get("name"))
        )

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        return DONE  # never reached: virtual events map to no host name

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        return DONE  # never reached: event keys have no virtual object under them

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        involved = mapping(p_obj.get("involvedObject"))
        resource = SYNCED_KINDS[str(involved.get("kind"))]
        p_name = str(involved.get("name"))
        if not ctx.serves(resource):
            return DONE  # that kind is not synced here
        p_target = ctx.host_cache(resource).get(self.translator.host_namespace, p_name)
        if p_target is None or (involved.get("uid") and involved["uid"] != uid_of(p_target)):
            return self._retry(p_obj)
        if not self.translator.is_owned(p_target, kind_string=resource.kind_string):
            return DONE
        found = self.translator.virtual_key_from_host(p_target)
        if found is None:
            return DONE
        v_target = ctx.virtual_cache(resource).get(*found)
        if v_target is None:
            return self._retry(p_obj)
        desired = virtual_event(
            p_obj,
            v_obj=v_target,
            resource=resource,
            p_name=p_name,
            host_namespace=self.translator.host_namespace,
        )
        existing = ctx.virtual_cache(EVENTS).get(found[0], name_of(p_obj))
        if existing is None:
            try:
                await ctx.virtual.create(EVENTS, namespace=found[0], body=desired)
            except AlreadyExists:
                return Result(requeue=True)  # the cache lags; compare next time
        elif annotations_of(existing).get(HOST_EVENT_ANNOTATION) == uid_of(p_obj) and _changed(
            existing, desired
        ):
            body = thaw(existing)
            body.update({f: desired[f] for f in _COPIED if f in desired})
            await ctx.virtual.update(EVENTS, namespace=found[0], name=name_of(p_obj), body=body)
        return DONE

    @staticmethod
    def _retry(p_event: Obj) -> Result:
        stamp: Any = p_event.get("lastTimestamp") or p_event.get("eventTime")
        seen = parse_time(stamp) or parse_time(meta(p_event).get("creationTimestamp"))
        if seen is not None and time.time() - seen < RETRY_WINDOW:
            return Result(requeue_after=1.0)
        return DONE


def make(*, translator: Translator) -> EventMapper:
    """Entry-point factory."""
    return EventMapper(translator=translator)
