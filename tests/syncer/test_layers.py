"""Import direction: layers point one way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_only_the_client_layer_imports_kubernetes_asyncio() -> None:
    """kubernetes-asyncio (and its aiohttp transport) is imported by syncer/kube.py alone;
    besides, syncer/probes.py and the kubelet server (syncer/kubelet/: its HTTPS server and
    the host requests it relays) import aiohttp."""
    kubelet = ("server", "logs", "upgrade", "outcome", "upstream")
    allowed = {
        ROOT / "syncer" / "kube.py": {"kubernetes_asyncio", "aiohttp"},
        ROOT / "syncer" / "probes.py": {"aiohttp"},
        **{ROOT / "syncer" / "kubelet" / f"{name}.py": {"aiohttp"} for name in kubelet},
    }
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("syncer") + _modules("mappers")
        for name in sorted(_imports(path))
        if name.split(".")[0] in {"kubernetes_asyncio", "aiohttp"} - allowed.get(path, set())
    ]
    assert offenders == []


def _public(name: str) -> bool:
    return name in {"syncer.api", "syncer.kit"} or name.startswith("syncer.kit.")


def test_mappers_depend_only_on_the_plugin_surface() -> None:
    """Built-in mappers import from syncer only through syncer.api and the kit, syncer.kit."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imports(path) if n.startswith("syncer") and not _public(n)
        )
        for path in _modules("mappers")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_kit_is_built_on_the_plugin_surface_alone() -> None:
    """syncer.kit imports from syncer only syncer.api and itself, and never mappers."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n
            for n in _imports(path)
            if (n.startswith("syncer") and not _public(n)) or n.startswith("mappers")
        )
        for path in _modules("syncer/kit")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_syncer_never_imports_mappers() -> None:
    """The engine and the kit know no built-in mapper."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in _modules("syncer")
        if any(n.split(".")[0] == "mappers" for n in _imports(path))
    ]
    assert offenders == []


def test_pure_layers_do_not_import_upwards() -> None:
    """Values and pure machinery never import the client, informers, controller or daemon."""
    upper = {
        "syncer.kube",
        "syncer.reflector",
        "syncer.informer",
        "syncer.controller",
        "syncer.sync",
        "syncer.daemon",
        "syncer.cli",
        "syncer.localcluster",
    }
    pure = [
        "keys",
        "errors",
        "clock",
        "ratelimit",
        "workqueue",
        "store",
        "translate",
        "backoff",
        "reconcile",
        "podsecurity",
        "podsecurity_controls",
        "listwatch",
        "watchlines",
        "selectors",
        "reconcilelog",
    ]
    offenders = {
        name: sorted(
            n
            for n in _imports(ROOT / "syncer" / f"{name}.py")
            if any(n.startswith(u) for u in upper)
        )
        for name in pure
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_detector_sees_imports() -> None:
    """The import scanner itself finds a known import (guards against a vacuous pass)."""
    assert "syncer.kube" in _imports(ROOT / "syncer" / "daemon.py")
    assert "kubernetes_asyncio" in _imports(ROOT / "syncer" / "kube.py")
