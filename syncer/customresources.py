"""The custom resources vsyncer syncs without a plugin: one frozen value per configured kind.

A :class:`CustomResource` says which kind (its :class:`~syncer.resources.Resource`:
group, the version used on both sides, plural, ``Kind``, scope), which way it
goes (``toHost``: the tenant's objects are copied down, spec down and status up;
``fromHost``: the host's objects are copied up read-only) and, fromHost, which
host objects (a label selector).  Settings build them
(:mod:`syncer.customresource_settings`); :class:`~syncer.mapperconfig.MapperConfig`
hands them to the mappers; :func:`syncer.plugins.with_custom_resources` turns
each into a kind to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from syncer.resources import Resource

Direction = Literal["toHost", "fromHost"]


@dataclass(frozen=True, slots=True)
class CustomResource:
    """One configured custom resource; its kind's name is ``resource.qualified``."""

    resource: Resource
    direction: Direction
    label_selector: str | None = None

    @property
    def name(self) -> str:
        """The kind's name and its CustomResourceDefinition's: ``widgets.example.com``."""
        return self.resource.qualified
