"""A plugin for the made-up CRD widgets.example.com: spec down, status up."""

from __future__ import annotations

from syncer.api import Resource, Translator
from syncer.kit import CopySyncer

WIDGETS = Resource("example.com", "v1", "widgets", "Widget")


class WidgetMapper(CopySyncer):
    synced_fields, status_fields = ("spec",), ("status",)

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=WIDGETS, translator=translator)
