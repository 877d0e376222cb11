"""PersistentVolumeClaims: the spec flows down, the status flows up.

Guarantees:

* toHost: the claim is created with the virtual spec minus ``volumeName`` (a
  virtual volume name means nothing on the host); a ``dataSource`` /
  ``dataSourceRef`` naming another claim is renamed to that claim's host name.
  Afterwards only what Kubernetes lets change on a claim flows down: labels,
  annotations and ``resources.requests`` (expansion);
* fromHost: ``status`` (phase, capacity, access modes, conditions) is copied to
  the virtual claim; the drift check reports a status not copied yet, as well
  as what :meth:`~syncer.kit.CopySyncer.drift` finds;
* deletion, orphans and UID changes as for every copied kind
  (:class:`~syncer.kit.CopySyncer`); pods refer to the claim by its host name;
* a claim is not created under a host name that a running host pod uses for a
  colliding claim of another namespace (``Refused``, reason
  ``reference_collision``, see :mod:`mappers.collisions`); a host claim held by
  another virtual claim is never taken over (the engine's rule);
* a claim never clones or restores what is not its own namespace's
  (:func:`data_source_refusal`, ``Refused`` with reason ``data_source``): a
  ``dataSource`` / ``dataSourceRef`` naming another namespace, or a kind vsyncer
  does not sync (a ``VolumeSnapshot``, a populator's object: the name would
  resolve to whatever host object of the host namespace has it), is refused
  until the claim changes; a source claim is cloned only from this vcluster's
  copy of exactly that virtual claim — a host object under its host name that
  is anything else (host names join parts with ``-x-``, so ``c/d-x-b`` and
  ``b-x-c/d`` share one) refuses the claim, and a source whose host name is
  ambiguous and has no copy yet makes it wait; both are looked at again after
  :data:`DATA_SOURCE_RETRY` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappers.collisions import claimed_by_partner, holds, is_ambiguous, read_host
from mappers.references import PVC_INDEX
from syncer.api import PODS, PVCS, Obj, Refused, Resource, Result, SyncContext, Translator, thaw
from syncer.kit import (
    CopySyncer,
    Json,
    is_terminating,
    mapping,
    name_of,
    namespace_of,
    uid_of,
    virtual_uid_of_host,
)

#: Seconds after which a claim refused for its source claim's host copy is looked at again.
DATA_SOURCE_RETRY = 60.0
_DATA_SOURCE_FIELDS = ("dataSource", "dataSourceRef")


def _is_claim(source: Any) -> bool:
    return (
        isinstance(source, Mapping)
        and source.get("kind") == "PersistentVolumeClaim"
        and not source.get("apiGroup")
    )


def host_claim_spec(v_spec: Any, *, namespace: str, translator: Translator) -> Json:
    """The host spec of a virtual claim."""
    spec = thaw(mapping(v_spec))
    spec.pop("volumeName", None)
    for field in _DATA_SOURCE_FIELDS:
        source = spec.get(field)
        if isinstance(source, dict) and _is_claim(source) and source.get("name"):
            source["name"] = translator.host_name(namespace, source["name"])
    return spec


async def data_source_refusal(ctx: SyncContext, v_claim: Obj) -> Refused | None:
    """Why ``v_claim`` may not be created on the host as it is, for its data source; else ``None``.

    Per ``spec.dataSource`` and ``spec.dataSourceRef``: a ``namespace`` or a kind
    other than a core ``PersistentVolumeClaim`` is refused (``retry_after=None``:
    only a change of the claim lifts it).  A source claim's host name must hold
    this vcluster's copy of exactly that virtual claim (:func:`holds`; read from
    the cache, else live); when nothing is there yet, an unambiguous name is fine
    (only this namespace's claim can get it) and an ambiguous one waits.  Those
    two are revisited after :data:`DATA_SOURCE_RETRY` seconds.
    """
    spec = mapping(v_claim.get("spec"))
    namespace = namespace_of(v_claim)
    for field in _DATA_SOURCE_FIELDS:
        source = spec.get(field)
        if source is None:
            continue
        at = f"spec.{field}"
        source = mapping(source)
        if source.get("namespace"):
            why = f"{at}.namespace: a data source in another namespace is not synced"
            return Refused(reason="data_source", message=why, retry_after=None)
        if not _is_claim(source):
            kind = source.get("kind")
            why = f"{at}: a data source of kind {kind!r} is not synced to the host"
            return Refused(reason="data_source", message=why, retry_after=None)
        name = str(source.get("name") or "")
        p_name = ctx.translator.host_name(namespace, name)
        p_source = await read_host(ctx, PVCS, p_name)
        if p_source is None:
            if not is_ambiguous(ctx.translator, namespace, name):
                continue
            why = (
                f"{at}.name: claim '{name}' has no host copy yet, and its host name could "
                "also belong to another namespace's claim; waiting for the copy"
            )
            return Refused(reason="data_source", message=why, retry_after=DATA_SOURCE_RETRY)
        if not holds(ctx.translator, p_source, resource=PVCS, namespace=namespace, name=name):
            why = (
                f"{at}.name: claim '{name}': host claim {p_name} belongs to another virtual object"
            )
            return Refused(reason="data_source", message=why, retry_after=DATA_SOURCE_RETRY)
    return None


class PersistentVolumeClaimMapper(CopySyncer):
    # The pods index and host pods (claimed_by_partner), while the pods mapper runs.
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({PODS})

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=PVCS, translator=translator)

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": self.host_metadata(v_obj, p_obj),
            "spec": host_claim_spec(
                v_obj.get("spec"), namespace=namespace_of(v_obj), translator=self.translator
            ),
        }

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for copied kinds, plus a host ``status`` the virtual claim does not show yet."""
        found = super().drift(ctx, v_obj, p_obj)
        if found is not None or p_obj is None or is_terminating(v_obj) or is_terminating(p_obj):
            return found
        status = thaw(mapping(p_obj.get("status")))
        return "status" if status and status != thaw(mapping(v_obj.get("status"))) else None

    def updated_host(self, p_obj: Obj, desired: Json) -> Json:
        body = super().updated_host(p_obj, desired)
        requests = mapping(mapping(desired["spec"].get("resources")).get("requests"))
        if requests:
            body.setdefault("spec", {}).setdefault("resources", {})["requests"] = dict(requests)
        return body

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        refusal = claimed_by_partner(
            ctx, resource=PVCS, index=PVC_INDEX, namespace=namespace_of(v_obj), name=name_of(v_obj)
        )
        refusal = refusal or await data_source_refusal(ctx, v_obj)
        if refusal is not None:
            raise refusal
        return await super().sync_to_host(ctx, v_obj)

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        result = await super().sync(ctx, v_obj, p_obj)
        stale = virtual_uid_of_host(p_obj) != uid_of(v_obj)
        if stale or is_terminating(v_obj) or is_terminating(p_obj):
            return result
        status = thaw(mapping(p_obj.get("status")))
        if status and status != thaw(mapping(v_obj.get("status"))):
            body = thaw(v_obj)
            body["status"] = status
            await ctx.virtual.update_status(
                PVCS, namespace=namespace_of(v_obj), name=name_of(v_obj), body=body
            )
        return result


def make(*, translator: Translator) -> PersistentVolumeClaimMapper:
    """Entry-point factory."""
    return PersistentVolumeClaimMapper(translator=translator)
