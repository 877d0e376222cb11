"""The widgets plugin (tests/e2e/plugin_widgets.py) against the public in-memory fake."""

from __future__ import annotations

import ast
from pathlib import Path

from syncer.api import DONE, DriftDetector, Mapper, ObjectKey, Syncer
from syncer.kit.testing import TRANSLATOR, FakeContext
from tests.e2e.plugin_widgets import WIDGETS, WidgetMapper

PLUGIN = Path(__file__).resolve().parents[2] / "e2e" / "plugin_widgets.py"


def test_the_plugin_is_at_most_15_lines_and_imports_only_the_public_api() -> None:
    text = PLUGIN.read_text()
    assert len(text.splitlines()) <= 15
    imported = {
        node.module
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"__future__", "syncer.api", "syncer.kit"}


async def test_spec_goes_down_translated_and_status_comes_up() -> None:
    mapper = WidgetMapper(translator=TRANSLATOR)
    assert isinstance(mapper, Mapper)
    assert isinstance(mapper, Syncer)
    assert isinstance(mapper, DriftDetector)
    v_obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"namespace": "shop", "name": "w", "uid": "v-uid", "labels": {"a": "b"}},
        "spec": {"size": 3},
        "status": {"phase": "Virtual"},
    }
    fake = FakeContext(virtual={"widgets": [v_obj]})
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    (created,) = fake.host.created
    p_name = TRANSLATOR.host_name("shop", "w")
    assert created["metadata"]["name"] == p_name
    assert created["metadata"]["namespace"] == TRANSLATOR.host_namespace
    assert created["spec"] == {"size": 3}
    assert "status" not in created
    assert mapper.virtual_to_host(ObjectKey("widgets", "shop", "w")) == p_name
    p_obj = {**created, "metadata": {**created["metadata"], "uid": "p"}, "status": {"ok": True}}
    assert mapper.host_to_virtual(p_obj) == ObjectKey("widgets", "shop", "w")
    up = FakeContext(virtual={"widgets": [v_obj]})
    assert await mapper.sync(up.ctx, v_obj, p_obj) == DONE
    assert up.calls == [("virtual", "update_status", "w")]
    assert up.virtual.bodies[0]["status"] == {"ok": True}
    assert WIDGETS.kind_string == "example.com/v1, Kind=Widget"
