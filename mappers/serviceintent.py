"""The crash-safe re-creation of a virtual Service: its intent, recorded on the host first.

A cluster IP is immutable, so giving a virtual Service the host's address
means deleting it and creating it again.  Done naively, a crash (or a failed
create) between the two leaves only the host copy, which the next start
collects as an orphan: the tenant's Service is gone on both sides.  The rule
(README "Security": nothing of a tenant's is deleted to rewrite it unless the
rewrite is crash-safe) is kept by writing the intent down first:

1. the host Service is updated with annotation :data:`RECREATE_INTENT_ANNOTATION`
   holding, as JSON, the old virtual UID, the full virtual Service to create
   (metadata labels, annotations, owner references, finalizers; the spec with
   the host's addresses) and, for a selector-less Service, its Endpoints as
   they are (the virtual endpoints controller deletes those of a Service it
   finds missing).  Only once this update succeeded is anything deleted;
2. the virtual Service is deleted (UID precondition);
3. the virtual Service is created from the intent (:func:`create_from_intent`);
4. the host Service is re-pointed at the new UID and the intent removed.

Whoever finds the intent later finishes the job: a missing virtual Service
(live read) is created from it instead of its host copy being collected; an
existing one is adopted and the intent dropped.  Every step is idempotent.

The intent lives on the host object only — tenants cannot write there, and the
virtual → host metadata copy never carries this key down — so it cannot be
forged.  It must fit Kubernetes' 256 KiB limit on an object's annotations
together with the ones the host Service has (:func:`with_intent` answers
``False`` otherwise, and the caller does not re-create).

Residual window, documented: a tenant deleting the Service in the instant
between a crash's step 1 and the next start's recovery gets it back (the
deletion cannot be told apart from step 2); deleting it again sticks.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mappers.apiservice import CLUSTER_IP_MISMATCH_ANNOTATION
from syncer.api import (
    ENDPOINTS,
    NAMESPACES,
    SERVICES,
    AlreadyExists,
    Invalid,
    NotFound,
    Obj,
    SyncContext,
    thaw,
)
from syncer.kit import Json, annotations_of, is_terminating, mapping, name_of, namespace_of

#: On a host Service: the virtual Service being re-created (see the module docstring).
RECREATE_INTENT_ANNOTATION = "vsyncer.dev/recreate-virtual"
#: Kubernetes' limit on the total size of an object's annotations (keys and values, bytes).
ANNOTATIONS_LIMIT_BYTES = 256 * 1024
#: Spec fields the virtual API server allocates again when it refuses the host's.
_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies", "healthCheckNodePort")
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
)


def recreated(v_obj: Obj, spec: Json) -> Json:
    """A new virtual service like ``v_obj`` (minus server-set metadata) with ``spec``."""
    body = thaw(v_obj)
    for field in _SERVER_METADATA:
        body.setdefault("metadata", {}).pop(field, None)
    body["spec"] = spec
    body.pop("status", None)
    return body


def restorable(obj: Obj) -> Json:
    """A copy of a virtual object that can be created again (no server-set metadata)."""
    body = thaw(obj)
    for field in _SERVER_METADATA:
        body.get("metadata", {}).pop(field, None)
    return body


@dataclass(frozen=True, slots=True)
class Intent:
    """A recorded re-creation: the old virtual UID, the Service to create, its Endpoints."""

    old_uid: str
    service: Mapping[str, Any]
    endpoints: Mapping[str, Any] | None = None

    def encode(self) -> str:
        """Compact JSON, the annotation's value."""
        return json.dumps(
            {"uid": self.old_uid, "service": self.service, "endpoints": self.endpoints},
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def of(cls, p_obj: Obj) -> Intent | None:
        """The intent a host Service carries; ``None`` if none (or one that does not parse)."""
        raw = annotations_of(p_obj).get(RECREATE_INTENT_ANNOTATION)
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        service, endpoints = mapping(data).get("service"), mapping(data).get("endpoints")
        if not isinstance(service, dict) or not service.get("metadata"):
            return None
        return cls(
            old_uid=str(mapping(data).get("uid") or ""),
            service=service,
            endpoints=endpoints if isinstance(endpoints, dict) and endpoints else None,
        )


def annotations_size(annotations: Mapping[str, Any]) -> int:
    """Bytes of keys and values, as Kubernetes counts them against its limit."""
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())


def with_intent(body: Json, intent: Intent) -> bool:
    """Add the intent to a host Service body; ``False`` (body unchanged) if it would not fit."""
    annotations = body.setdefault("metadata", {}).setdefault("annotations", {})
    value = intent.encode()
    others = {k: v for k, v in annotations.items() if k != RECREATE_INTENT_ANNOTATION}
    if annotations_size(others) + len(RECREATE_INTENT_ANNOTATION) + len(value.encode()) > (
        ANNOTATIONS_LIMIT_BYTES
    ):
        return False
    annotations[RECREATE_INTENT_ANNOTATION] = value
    return True


def without_intent(body: Json) -> Json:
    """``body`` with the intent annotation removed (in place; returned for chaining)."""
    mapping(body.get("metadata")).get("annotations", {}).pop(RECREATE_INTENT_ANNOTATION, None)
    return body


def namespace_terminating(ctx: SyncContext, namespace: str) -> bool:
    """Whether the virtual namespace is being deleted (nothing may be created in it)."""
    v_namespace = ctx.virtual_cache(NAMESPACES).get("", namespace)
    return v_namespace is not None and is_terminating(v_namespace)


async def namespace_gone(ctx: SyncContext, namespace: str) -> bool:
    """A live read: is the virtual namespace missing or being deleted (nothing can be created)?"""
    try:
        found = await ctx.virtual.get(NAMESPACES, namespace=None, name=namespace)
    except NotFound:
        return True
    return is_terminating(found)


async def create_from_intent(ctx: SyncContext, intent: Intent, *, host_ip: str) -> Json | None:
    """Step 3: create the virtual Service; ``None`` if another of that name exists.

    If the virtual API server refuses the host's addresses (422: not in its
    service range, already allocated), the Service is created with addresses
    of its own, marked with the refused IP (:data:`CLUSTER_IP_MISMATCH_ANNOTATION`,
    so that it is not retried in a loop), and a Warning event says why.  Any
    other error propagates: the intent stays, and a later reconcile tries again.
    """
    body = thaw(intent.service)
    namespace = namespace_of(body)
    try:
        return await ctx.virtual.create(SERVICES, namespace=namespace, body=body)
    except AlreadyExists:
        return None
    except Invalid as exc:
        error = exc
    spec = body.setdefault("spec", {})
    for field in _ALLOCATED:
        if field in ("clusterIP", "clusterIPs") and spec.get("clusterIP") == "None":
            continue
        spec.pop(field, None)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.pop("nodePort", None)
    body["metadata"].setdefault("annotations", {})[CLUSTER_IP_MISMATCH_ANNOTATION] = host_ip
    try:
        created = await ctx.virtual.create(SERVICES, namespace=namespace, body=body)
    except AlreadyExists:
        return None
    await ctx.record_event(
        created,
        type_="Warning",
        reason="SyncError",
        message=f"cannot give this service the host cluster IP {host_ip}: {error.message}",
        kind="Service",
    )
    return created


async def restore_endpoints(ctx: SyncContext, intent: Intent) -> None:
    """Create the recorded Endpoints again if they are gone (live read); theirs stand if not."""
    if intent.endpoints is None:
        return
    body = restorable(intent.endpoints)
    namespace, name = namespace_of(body), name_of(body)
    try:
        await ctx.virtual.get(ENDPOINTS, namespace=namespace, name=name)
    except NotFound:
        try:
            await ctx.virtual.create(ENDPOINTS, namespace=namespace, body=body)
        except AlreadyExists:
            return


async def keep_own_ip(ctx: SyncContext, v_obj: Obj, p_obj: Obj, *, why: str) -> None:
    """No safe re-creation (``why``): mark the service, warn, delete nothing.

    The mark (:data:`CLUSTER_IP_MISMATCH_ANNOTATION`) stops the re-creation
    being tried again on every reconcile; if even the mark does not fit the
    virtual object's annotations, only the Warning event is left.
    """
    p_ip = str(mapping(p_obj.get("spec")).get("clusterIP") or "")
    body = thaw(v_obj)
    body["metadata"].setdefault("annotations", {})[CLUSTER_IP_MISMATCH_ANNOTATION] = p_ip
    with contextlib.suppress(Invalid):
        v_obj = await ctx.virtual.update(
            SERVICES, namespace=namespace_of(v_obj), name=name_of(v_obj), body=body
        )
    await ctx.record_event(
        v_obj,
        type_="Warning",
        reason="SyncError",
        message=f"this service keeps its own cluster IP, not the host's {p_ip}: it cannot be "
        f"re-created safely ({why})",
        kind="Service",
    )
