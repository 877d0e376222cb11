"""CustomResourceDefinitions (fromHost): the definitions of the configured custom resources.

Enabled by the engine whenever ``VSYNCER_CUSTOM_RESOURCES`` lists any (the
kind ``customresourcedefinitions.apiextensions.k8s.io``).  The platform
installs a CRD on the host; vsyncer copies it into the virtual cluster, so that
tenants can use the kind.

Guarantees:

* only the CRDs named by a configured entry are looked at (other host CRDs map
  to no key), read cluster-wide (``get, list, watch`` on the host's
  ``customresourcedefinitions``), never written on the host;
* the virtual copy has the host CRD's name, group, names and scope, exactly
  one version — the entry's, served and the storage version, with its schema,
  subresources, printer columns and selectable fields — and
  ``conversion: None`` (the host's conversion webhook is a host Service the
  virtual API server cannot reach; one version needs no conversion), and the
  label ``vsyncer.dev/from-host=true``;
* a host CRD that does not serve the entry's version, or whose kind or scope
  differs from the entry's, is not copied (a warning names both; the kind
  stays not ready until the entry or the CRD is fixed);
* the copy follows the host CRD's changes and a tenant's edit of it is
  reverted; a CRD of the tenant's own (without the label) is never touched;
* a copy is never deleted, not even when the host CRD goes: deleting a CRD
  deletes every object of its kind, the tenant's data; the kind then stops
  syncing (its host side is not served) until the CRD is back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncer.api import (
    CRDS,
    DONE,
    AlreadyExists,
    CustomResource,
    Invalid,
    MapperConfig,
    Obj,
    ObjectKey,
    Resource,
    Result,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import FROM_HOST_LABEL, Json, is_copy, items, mapping, name_of

#: Fields of a CRD version copied to the virtual one (``served``/``storage`` are set).
VERSION_FIELDS = (
    "schema",
    "subresources",
    "additionalPrinterColumns",
    "selectableFields",
    "deprecated",
    "deprecationWarning",
)


def copied_spec(p_crd: Obj, custom: CustomResource) -> Json | None:
    """The virtual CRD's spec for ``custom`` from host CRD ``p_crd``; ``None`` when the host
    CRD does not serve the entry's version or names another kind or scope.  Pure."""
    spec = mapping(p_crd.get("spec"))
    names = mapping(spec.get("names"))
    scope = "Namespaced" if custom.resource.namespaced else "Cluster"
    if names.get("kind") != custom.resource.kind or spec.get("scope") != scope:
        return None
    for version in items(spec.get("versions")):
        v = mapping(version)
        if v.get("name") == custom.resource.version and v.get("served"):
            copied: Json = {"name": v["name"], "served": True, "storage": True}
            copied.update({f: thaw({f: v[f]})[f] for f in VERSION_FIELDS if f in v})
            return {
                "group": spec.get("group"),
                "names": thaw(dict(names)),
                "scope": scope,
                "versions": [copied],
                "conversion": {"strategy": "None"},
            }
    return None


class DefinitionCopier:
    """Copies the configured CRDs from the host into the virtual cluster; see the module."""

    resource = CRDS
    host_resource = CRDS
    host_label_selector: str | None = None
    host_selects_managed = False
    #: Reads no cache besides its own kind's.
    reads: frozenset[Resource] = frozenset()

    def __init__(self, *, translator: Translator, customs: Iterable[CustomResource]) -> None:
        self.translator = translator
        self.customs = {custom.name: custom for custom in customs}

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return key.name if key.name in self.customs else None

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        name = name_of(p_obj)
        return ObjectKey(CRDS.plural, "", name) if name in self.customs else None

    def is_managed(self, p_obj: Obj) -> bool:
        return True  # only read

    def virtual_copy(self, p_obj: Obj) -> Json | None:
        """The virtual CRD for host CRD ``p_obj``; ``None`` if it does not fit its entry."""
        custom = self.customs.get(name_of(p_obj))
        spec = copied_spec(p_obj, custom) if custom is not None else None
        if spec is None:
            return None
        return {
            "apiVersion": CRDS.api_version,
            "kind": CRDS.kind,
            "metadata": {"name": name_of(p_obj), "labels": {FROM_HOST_LABEL: "true"}},
            "spec": spec,
        }

    def _misfit(self, ctx: SyncContext, p_obj: Obj) -> Result:
        custom = self.customs[name_of(p_obj)]
        if ctx.log is not None:
            ctx.log.warning(
                "host CRD does not fit its VSYNCER_CUSTOM_RESOURCES entry; not copied",
                crd=name_of(p_obj),
                want=f"{custom.resource.kind} {custom.resource.version}",
            )
        return DONE  # a change of the host CRD brings the key back

    async def sync_to_virtual(self, ctx: SyncContext, key: ObjectKey, p_obj: Obj) -> Result:
        want = self.virtual_copy(p_obj)
        if want is None:
            return self._misfit(ctx, p_obj)
        try:
            await ctx.virtual.create(CRDS, namespace=None, body=want)
        except AlreadyExists:
            return Result(requeue=True)  # the virtual cache lags
        return DONE

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if not is_copy(v_obj):
            return DONE  # the tenant's own CRD of that name
        want = self.virtual_copy(p_obj)
        if want is None:
            return self._misfit(ctx, p_obj)
        body: dict[str, Any] = thaw(v_obj)
        metadata = body.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), FROM_HOST_LABEL: "true"}
        body["spec"] = want["spec"]
        if body != thaw(v_obj):
            try:
                await ctx.virtual.update(CRDS, namespace=None, name=name_of(v_obj), body=body)
            except Invalid as exc:  # scope or group changed on the host: never deleted here
                if ctx.log is not None:
                    ctx.log.warning("virtual CRD cannot follow the host's", error=str(exc))
        return DONE

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        return DONE  # never deleted: it would delete the tenant's objects (see the module)


def make(*, translator: Translator, config: MapperConfig | None = None) -> DefinitionCopier:
    """Entry-point factory: the CRDs of ``config.custom_resources``."""
    customs = config.custom_resources if config is not None else ()
    return DefinitionCopier(translator=translator, customs=customs)
