"""Mapper discovery through entry points."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest

from mappers.services import make as services_make
from syncer.api import Mapper, MapperConfig, Obj, ObjectKey, Resource
from syncer.plugins import GROUP, PluginError, accepts_config, build_mappers, discover
from syncer.translate import Translator


def _ep(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=value, group=GROUP)


def test_two_mappers_claiming_one_kind_is_an_error_naming_both() -> None:
    """A double claim names both entry points."""
    with pytest.raises(PluginError) as info:
        discover(entry_points=[_ep("pods", "a.mod:factory"), _ep("pods", "b.mod:factory")])
    assert "a.mod:factory" in str(info.value)
    assert "b.mod:factory" in str(info.value)


def test_unknown_kind_is_an_error() -> None:
    """Asking for a kind nobody serves names the kind."""
    with pytest.raises(PluginError, match="'widgets'"):
        build_mappers(kinds=["widgets"], factories={}, translator=Translator("dev", "host-ns"))


def test_broken_plugin_is_reported() -> None:
    """A plugin that fails to import is reported with its entry point."""
    with pytest.raises(PluginError, match=r"no\.such\.module"):
        discover(entry_points=[_ep("pods", "no.such.module:factory")])


class _Widgets:
    """A minimal mapper that remembers what its factory was given."""

    resource = Resource(group="", version="v1", kind="Service", plural="services", namespaced=True)

    def __init__(self, config: MapperConfig | None) -> None:
        self.config = config

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return None

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        return None

    def is_managed(self, p_obj: Obj) -> bool:
        return False


def _plain(*, translator: Translator) -> _Widgets:
    return _Widgets(None)


def _configurable(*, translator: Translator, config: MapperConfig) -> _Widgets:
    return _Widgets(config)


def _catch_all(**kw: Any) -> _Widgets:
    return _Widgets(kw.get("config"))


@pytest.mark.parametrize(
    ("factory", "gets_config"),
    [(_plain, False), (_configurable, True), (_catch_all, True), (services_make, True)],
    ids=["translator only", "config keyword", "**kwargs", "built-in services"],
)
def test_config_goes_to_factories_that_accept_it(
    factory: Callable[..., Mapper], gets_config: bool
) -> None:
    """Factories declaring ``config`` (or ``**kwargs``) get it; translator-only ones still work."""
    config = MapperConfig(virtual_service_host="vc-api", virtual_service_port=6443)
    assert accepts_config(factory) is gets_config
    mappers = build_mappers(
        kinds=["services"],
        factories={"services": factory},
        translator=Translator("dev", "host-ns"),
        config=config,
    )
    mapper = mappers["services"]
    if isinstance(mapper, _Widgets):
        assert mapper.config == (config if gets_config else None)
    else:
        assert mapper.virtual_to_host(ObjectKey("services", "default", "kubernetes")) == "vc-api"


def test_without_config_factories_get_the_empty_one() -> None:
    """``build_mappers`` without ``config`` hands out the defaults."""
    mappers = build_mappers(
        kinds=["services"],
        factories={"services": _configurable},
        translator=Translator("dev", "host-ns"),
    )
    assert isinstance(mappers["services"], _Widgets)
    assert mappers["services"].config == MapperConfig()


class _Gadgets(_Widgets):
    """A custom kind whose plural another group could use too."""

    resource = Resource(group="example.com", version="v1", kind="Gadget", plural="gadgets")


def _gadgets(*, translator: Translator) -> _Gadgets:
    return _Gadgets(None)


@pytest.mark.parametrize("name", ["gadgets.example.com", "gadgets"])
def test_a_kind_is_named_qualified_or_by_its_plural(name: str) -> None:
    """``gadgets.example.com`` (qualified) and ``gadgets`` (plural, older plugins) both load."""
    mappers = build_mappers(
        kinds=[name], factories={name: _gadgets}, translator=Translator("dev", "host-ns")
    )
    assert mappers[name].resource.qualified == "gadgets.example.com"


def test_a_name_of_another_group_is_an_error() -> None:
    """Registered as ``gadgets.other.io``, a mapper of ``gadgets.example.com`` is refused."""
    with pytest.raises(PluginError, match=r"serves 'gadgets\.example\.com'"):
        build_mappers(
            kinds=["gadgets.other.io"],
            factories={"gadgets.other.io": _gadgets},
            translator=Translator("dev", "host-ns"),
        )
