"""Mapper discovery through entry points."""

from __future__ import annotations

from importlib import metadata

import pytest

from syncer.plugins import GROUP, PluginError, build_mappers, discover
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
