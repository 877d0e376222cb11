"""The custom resources vsyncer syncs without a plugin: one frozen value per configured kind.

A :class:`CustomResource` says which kind (its :class:`~syncer.resources.Resource`:
group, the version used on both sides, plural, ``Kind``, scope), which way it
goes (``toHost``: the tenant's objects are copied down, spec down and status up;
``fromHost``: the host's objects are copied up read-only) and, fromHost, which
host objects (a label selector); toHost, which fields are rewritten on the
way down (:class:`FieldPatch`).  Settings build them
(:mod:`syncer.customresource_settings`); :class:`~syncer.mapperconfig.MapperConfig`
hands them to the mappers; :func:`syncer.plugins.with_custom_resources` turns
each into a kind to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from syncer.resources import Resource

Direction = Literal["toHost", "fromHost"]
PatchType = Literal["labelSelector", "rewriteName", "reference"]
#: The kinds a ``reference`` patch may name: namespaced kinds the built-in mappers sync.
ReferenceKind = Literal["secrets", "configmaps", "services", "persistentvolumeclaims"]


@dataclass(frozen=True, slots=True)
class FieldPatch:
    """A rewrite of one field of a toHost object on its way down (see
    :mod:`mappers.crpatches`).  ``path``: dotted keys, ``[*]`` for every element
    of a list (``spec.targets[*].secretName``); ``kind`` (``reference`` only): the
    kind of the object the field names, in the object's own namespace."""

    path: str
    type: PatchType
    kind: ReferenceKind | None = None


@dataclass(frozen=True, slots=True)
class CustomResource:
    """One configured custom resource; its kind's name is ``resource.qualified``."""

    resource: Resource
    direction: Direction
    label_selector: str | None = None
    patches: tuple[FieldPatch, ...] = ()

    @property
    def name(self) -> str:
        """The kind's name and its CustomResourceDefinition's: ``widgets.example.com``."""
        return self.resource.qualified
