"""PersistentVolumeClaims: the spec flows down, the status flows up.

Guarantees:

* toHost: the claim is created with the virtual spec minus ``volumeName`` (a
  virtual volume name means nothing on the host); a ``dataSource`` /
  ``dataSourceRef`` naming another claim is renamed to that claim's host name.
  Afterwards only what Kubernetes lets change on a claim flows down: labels,
  annotations and ``resources.requests`` (expansion);
* fromHost: ``status`` (phase, capacity, access modes, conditions) is copied to
  the virtual claim;
* deletion, orphans and UID changes as for every copied kind
  (:class:`~mappers.generic.CopySyncer`); pods refer to the claim by its host name;
* a claim is not created under a host name that a running host pod uses for a
  colliding claim of another namespace (``Refused``, reason
  ``reference_collision``, see :mod:`mappers.collisions`); a host claim held by
  another virtual claim is never taken over (the engine's rule).
"""

from __future__ import annotations

from typing import Any

from mappers.collisions import claimed_by_partner
from mappers.copysync import (
    CopySyncer,
)
from mappers.generic import (
    Json,
    is_terminating,
    mapping,
    name_of,
    namespace_of,
    uid_of,
    virtual_uid_of_host,
)
from mappers.references import PVC_INDEX
from syncer.api import PVCS, Obj, Result, SyncContext, Translator, thaw


def host_claim_spec(v_spec: Any, *, namespace: str, translator: Translator) -> Json:
    """The host spec of a virtual claim."""
    spec = thaw(mapping(v_spec))
    spec.pop("volumeName", None)
    for field in ("dataSource", "dataSourceRef"):
        source = spec.get(field)
        if (
            isinstance(source, dict)
            and source.get("kind") == "PersistentVolumeClaim"
            and not source.get("apiGroup")
            and source.get("name")
        ):
            source["name"] = translator.host_name(namespace, source["name"])
    return spec


class PersistentVolumeClaimMapper(CopySyncer):
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
