"""Custom resources become kinds without a plugin: one per entry plus the CRD copier."""

from __future__ import annotations

import pytest

from mappers.customresourcedefinitions import DefinitionCopier
from mappers.customresources import ToHostCustomResource
from syncer.api import CRDS, CustomResource, MapperConfig, Resource
from syncer.kit.testing import TRANSLATOR
from syncer.plugins import PluginError, build_mappers, discover, with_custom_resources

GADGETS = CustomResource(Resource("example.com", "v1", "gadgets", "Gadget"), "toHost")


def test_no_entries_change_nothing() -> None:
    kinds, factories = with_custom_resources(
        kinds=("pods",), factories=discover(), custom_resources=()
    )
    assert kinds == ("pods",)
    assert factories == discover()


def test_each_entry_is_a_kind_served_by_the_generic_factory() -> None:
    """gadgets.example.com and the CRD kind are added and build into their mappers."""
    kinds, factories = with_custom_resources(
        kinds=("pods",), factories=discover(), custom_resources=(GADGETS,)
    )
    assert kinds == ("pods", CRDS.qualified, "gadgets.example.com")
    config = MapperConfig(custom_resources=(GADGETS,))
    mappers = build_mappers(kinds=kinds, factories=factories, translator=TRANSLATOR, config=config)
    assert isinstance(mappers["gadgets.example.com"], ToHostCustomResource)
    assert isinstance(mappers[CRDS.qualified], DefinitionCopier)


def test_an_entry_also_in_the_kinds_is_an_error() -> None:
    with pytest.raises(PluginError, match=r"gadgets\.example\.com is in VSYNCER_KINDS"):
        with_custom_resources(
            kinds=("gadgets.example.com",), factories=discover(), custom_resources=(GADGETS,)
        )


def test_without_the_generic_factory_it_is_an_error() -> None:
    with pytest.raises(PluginError, match="generic"):
        with_custom_resources(kinds=(), factories={}, custom_resources=(GADGETS,), entry_points=[])
