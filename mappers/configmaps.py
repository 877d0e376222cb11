"""ConfigMaps: synced to the host only while a synced virtual pod refers to them.

Guarantees: the host copy carries the virtual ``data``, ``binaryData`` and
``immutable`` (an immutable host copy whose content changed is replaced), the
translated labels and annotations; it is deleted when the last referencing pod
goes (see :mod:`mappers.referenced` for how that is noticed cheaply).  The
virtual ``kube-root-ca.crt`` is never synced: pods that mount it get the host
namespace's own, and the virtual CA reaches service-account mounts through the
token Secret (:mod:`mappers.tokens`).
"""

from __future__ import annotations

from collections.abc import Iterable

from mappers.referenced import PodReferencedCopySyncer, referenced_configmaps
from mappers.references import CONFIGMAP_INDEX, ROOT_CA_CONFIGMAP
from syncer.api import CONFIGMAPS, MapperConfig, Obj, ObjectKey, Translator
from syncer.kit import (
    Json,
    mapping,
)


class ConfigMapMapper(PodReferencedCopySyncer):
    index = CONFIGMAP_INDEX
    synced_fields = ("data", "binaryData", "immutable")

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=CONFIGMAPS, translator=translator, config=config)

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        if key.name == ROOT_CA_CONFIGMAP:
            return None
        return super().virtual_to_host(key)

    def referenced_names(self, pod: Obj) -> Iterable[str]:
        return referenced_configmaps(pod)

    def must_recreate(self, p_obj: Obj, desired: Json) -> bool:
        if not p_obj.get("immutable"):
            return False
        return any(mapping(p_obj.get(f)) != mapping(desired.get(f)) for f in ("data", "binaryData"))


def make(*, translator: Translator, config: MapperConfig | None = None) -> ConfigMapMapper:
    """Entry-point factory (``config``: the custom resources that may name configmaps)."""
    return ConfigMapMapper(translator=translator, config=config)
