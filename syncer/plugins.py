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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, Protocol

from syncer.api import Mapper, MapperConfig, Translator
from syncer.errors import VsyncerError

GROUP = "vsyncer.mappers"


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
