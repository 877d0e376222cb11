"""Readers of Kubernetes objects as the caches hand them out (read-only JSON mappings).

Guarantees: every reader treats missing or malformed fields as empty and never
raises; none copies or changes the object it reads.  ``Json`` is the mutable
form of an object a mapper builds to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from syncer.api import OBJECT_UID_ANNOTATION, Obj, ObjectKey, Resource

Json = dict[str, Any]


# -- reading objects ------------------------------------------------------------------


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (missing fields read as empty)."""
    if isinstance(value, dict | MappingProxyType):  # the common cases, without the ABC check
        return value
    return value if isinstance(value, Mapping) else {}


def items(value: object) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def meta(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("metadata"))


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "")


def uid_of(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def labels_of(obj: Obj) -> Mapping[str, str]:
    return mapping(meta(obj).get("labels"))


def annotations_of(obj: Obj) -> Mapping[str, str]:
    return mapping(meta(obj).get("annotations"))


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def virtual_uid_of_host(p_obj: Obj) -> str:
    """The UID of the virtual object a host object was made from."""
    return str(annotations_of(p_obj).get(OBJECT_UID_ANNOTATION) or "")


def key_of_virtual(resource: Resource, v_obj: Obj) -> ObjectKey:
    return ObjectKey(resource.plural, namespace_of(v_obj), name_of(v_obj))


def no_keys(obj: Obj) -> list[ObjectKey]:
    """A :class:`~syncer.api.Watcher` function that enqueues nothing.

    A mapper declares it for a kind whose virtual cache it only *reads*, so that
    the daemon runs an informer for that kind.
    """
    del obj
    return []
