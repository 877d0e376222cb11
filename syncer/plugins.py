"""Mapper discovery through the ``vsyncer.mappers`` entry-point group.

An entry point's name is the kind it serves: its resource's qualified name
(:attr:`~syncer.resources.Resource.qualified`: ``pods``,
``widgets.example.com``) or, as older plugins do, its plural alone.  Its value
is a factory ``factory(*, translator) -> Mapper``.  A factory that also
declares a ``config`` parameter (or ``**kwargs``) is called with ``config=``
the :class:`~syncer.api.MapperConfig` as well
(:class:`ConfigurableMapperFactory`); which form a factory takes is read from
its signature, so plugins written for the first form keep working.  The
built-in mappers register the same way as third-party ones.  Two entry points
claiming one kind is a start-up error naming both; so is a factory whose
mapper's resource is not the one its name says.

Custom resources of ``VSYNCER_CUSTOM_RESOURCES`` need no plugin:
:func:`with_custom_resources` adds a kind per entry (named like its CRD), each
served by the one factory registered in the :data:`CUSTOM_GROUP` entry-point
group (``generic``) with the entry bound, and the kind that copies their
definitions (``customresourcedefinitions.apiextensions.k8s.io``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, Protocol

from syncer.api import CRDS, CustomResource, Mapper, MapperConfig, Translator
from syncer.errors import VsyncerError

GROUP = "vsyncer.mappers"
#: The entry-point group of the generic custom-resource factory (one entry, ``generic``).
CUSTOM_GROUP = "vsyncer.custom_resources"


class PluginError(VsyncerError):
    """A mapper plugin is missing, ambiguous or broken."""


class MapperFactory(Protocol):
    def __call__(self, *, translator: Translator) -> Mapper: ...


class ConfigurableMapperFactory(Protocol):
    def __call__(self, *, translator: Translator, config: MapperConfig) -> Mapper: ...


def accepts_config(factory: Callable[..., Mapper]) -> bool:
    """Whether ``factory`` takes a ``config`` keyword (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature: the plain form
        return False
    return any(
        (p.name == "config" and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        or p.kind is inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )


def discover(
    *, entry_points: Iterable[metadata.EntryPoint] | None = None
) -> dict[str, Callable[..., Mapper]]:
    """All registered mapper factories by kind; raises :class:`PluginError` on a double claim."""
    eps = list(metadata.entry_points(group=GROUP) if entry_points is None else entry_points)
    found: dict[str, metadata.EntryPoint] = {}
    for ep in eps:
        other = found.get(ep.name)
        if other is not None and other.value != ep.value:
            raise PluginError(f"two mappers claim kind {ep.name!r}: {other.value} and {ep.value}")
        found[ep.name] = ep
    factories: dict[str, Callable[..., Mapper]] = {}
    for kind, ep in found.items():
        try:
            factories[kind] = ep.load()
        except Exception as exc:
            raise PluginError(
                f"mapper plugin {ep.value} for kind {kind!r} failed to load: {exc}"
            ) from exc
    return factories


def build_mappers(
    *,
    kinds: Iterable[str],
    factories: Mapping[str, Callable[..., Mapper]],
    translator: Translator,
    config: MapperConfig | None = None,
) -> dict[str, Mapper]:
    """Instantiate the mappers for ``kinds``; unknown kinds and mismatches are errors.

    ``config`` (default: an empty :class:`MapperConfig`) goes to the factories that accept it.
    """
    config = config if config is not None else MapperConfig()
    mappers: dict[str, Mapper] = {}
    for kind in kinds:
        factory = factories.get(kind)
        if factory is None:
            known = ", ".join(sorted(factories)) or "none"
            raise PluginError(f"no mapper registered for kind {kind!r} (known: {known})")
        kw: dict[str, Any] = {"config": config} if accepts_config(factory) else {}
        mapper = factory(translator=translator, **kw)
        if not isinstance(mapper, Mapper):
            raise PluginError(f"the mapper for {kind!r} does not implement the Mapper protocol")
        if kind not in (mapper.resource.qualified, mapper.resource.plural):
            raise PluginError(
                f"the mapper registered for {kind!r} serves {mapper.resource.qualified!r}"
            )
        mappers[kind] = mapper
    return mappers


def with_custom_resources(
    *,
    kinds: Iterable[str],
    factories: Mapping[str, Callable[..., Mapper]],
    custom_resources: Iterable[CustomResource],
    entry_points: Iterable[metadata.EntryPoint] | None = None,
) -> tuple[tuple[str, ...], dict[str, Callable[..., Mapper]]]:
    """``kinds`` and ``factories`` with a kind per custom resource and the CRD kind.

    Raises :class:`PluginError` for an entry whose kind is also in ``kinds``, or
    when the generic factory is not registered.
    """
    kinds, out, customs = tuple(kinds), dict(factories), tuple(custom_resources)
    if not customs:
        return kinds, out
    for custom in customs:
        if custom.name in kinds or custom.resource.plural in kinds:
            raise PluginError(
                f"VSYNCER_CUSTOM_RESOURCES: {custom.name} is in VSYNCER_KINDS too (a plugin's)"
            )
    eps = list(metadata.entry_points(group=CUSTOM_GROUP) if entry_points is None else entry_points)
    found = [ep for ep in eps if ep.group == CUSTOM_GROUP and ep.name == "generic"]
    if not found:
        raise PluginError(f"no {CUSTOM_GROUP!r} entry point 'generic' for custom resources")
    generic = found[0].load()
    for custom in customs:
        out[custom.name] = functools.partial(generic, custom=custom)
    if CRDS.qualified not in kinds:
        kinds += (CRDS.qualified,)
    return kinds + tuple(custom.name for custom in customs), out
