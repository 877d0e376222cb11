"""Endpoints: synced only for virtual services without a selector.

A service with a selector gets its host endpoints from the host's own endpoints
controller (the host service selects the host pods); only the endpoints a
tenant manages by hand — those of a selector-less service — are copied down.

Guarantees: the host copy exists exactly while the virtual Endpoints object and
a selector-less virtual service of the same name both exist; its subsets are
the virtual ones, with pod ``targetRef``\\ s re-pointed at the host pods (other
references are dropped: they name virtual objects the host does not have).  A
change of the service (a selector added or removed) is noticed: this mapper
watches virtual services.  ``default/kubernetes`` is never synced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mappers.copysync import (
    CopySyncer,
)
from mappers.generic import (
    Json,
    items,
    mapping,
    name_of,
    namespace_of,
)
from syncer.api import ENDPOINTS, SERVICES, Obj, ObjectKey, Resource, SyncContext, Translator, thaw

KUBERNETES_SERVICE = ("default", "kubernetes")
_ADDRESS_LISTS = ("addresses", "notReadyAddresses")


def host_subsets(subsets: Any, *, namespace: str, translator: Translator) -> list[Json]:
    """Virtual subsets with pod references translated to host pods."""
    translated = thaw({"s": items(subsets)})["s"]
    for subset in translated:
        for field in _ADDRESS_LISTS:
            for address in items(subset.get(field)):
                ref = mapping(address.get("targetRef"))
                if ref.get("kind") == "Pod" and ref.get("name"):
                    address["targetRef"] = {
                        "kind": "Pod",
                        "name": translator.host_name(
                            str(ref.get("namespace") or namespace), str(ref["name"])
                        ),
                        "namespace": translator.host_namespace,
                    }
                else:
                    address.pop("targetRef", None)
    return list(translated)


class EndpointsMapper(CopySyncer):
    synced_fields = ("subsets",)

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=ENDPOINTS, translator=translator)

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        if (key.namespace, key.name) == KUBERNETES_SERVICE:
            return None
        return super().virtual_to_host(key)

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        return {SERVICES: self.keys_of_service}

    def keys_of_service(self, service: Obj) -> list[ObjectKey]:
        return [ObjectKey(ENDPOINTS.plural, namespace_of(service), name_of(service))]

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        service = ctx.virtual_cache(SERVICES).get(namespace_of(v_obj), name_of(v_obj))
        if service is None or mapping(service.get("spec")).get("selector"):
            return None
        return {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": self.host_metadata(v_obj, p_obj),
            "subsets": host_subsets(
                v_obj.get("subsets"), namespace=namespace_of(v_obj), translator=self.translator
            ),
        }


def make(*, translator: Translator) -> EndpointsMapper:
    """Entry-point factory."""
    return EndpointsMapper(translator=translator)
