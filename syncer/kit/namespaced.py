"""The name translation of one namespaced kind: the base every copied kind specialises.

A virtual object ``ns/name`` lives on the host as ``translator.host_name(ns, name)``
in the host namespace; the way back comes only from the host object's provenance
annotations, and only when they re-translate to its own name and name this kind
(:meth:`Translator.is_owned`).  Anything else on the host is "not ours": ``None``.
Pure: no I/O.  The reconcile of copied kinds is :mod:`syncer.kit.copysync`.
"""

from __future__ import annotations

from typing import Any

from syncer.api import Obj, ObjectKey, Resource, Translator
from syncer.kit.metadata import host_metadata
from syncer.kit.objects import Json

# -- the mapper -----------------------------------------------------------------------


class NamespacedMapper:
    """Name translation for one namespaced kind: pure, no I/O."""

    def __init__(self, *, resource: Resource, translator: Translator) -> None:
        self.resource = resource
        self.translator = translator

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return self.translator.host_name(key.namespace, key.name)

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        if not self.is_managed(p_obj):
            return None
        found = self.translator.virtual_key_from_host(p_obj)
        if found is None:
            return None
        return ObjectKey(self.resource.plural, found[0], found[1])

    def is_managed(self, p_obj: Obj) -> bool:
        return self.translator.is_owned(p_obj, kind_string=self.resource.kind_string)

    def host_metadata(self, v_obj: Obj, p_obj: Obj | None = None, **kw: Any) -> Json:
        return host_metadata(
            translator=self.translator, resource=self.resource, v_obj=v_obj, p_obj=p_obj, **kw
        )
