"""A plugin that takes a cache it did not declare stops ``vsyncer run`` at start-up.

The plugin is installed the way a real one is — a distribution with an entry
point in the ``vsyncer.mappers`` group, found on the path — and ``vsyncer run``
connects to the real clusters, builds the wiring and exits 2 with one line
naming the mapper and the kind, before any informer starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = """
from syncer.api import PODS, Caches, Resource, Translator
from syncer.kit import CopySyncer

GIZMOS = Resource("example.com", "v1", "gizmos", "Gizmo")


class GizmoMapper(CopySyncer):
    synced_fields, status_fields, reads = ("spec",), ("status",), frozenset()

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=GIZMOS, translator=translator)

    def use_caches(self, *, caches: Caches) -> None:
        self.pods = caches.virtual(PODS)
"""


def _install(site: Path) -> None:
    """The plugin module and its distribution metadata (one entry-point line) in ``site``."""
    (site / "gizmo_plugin.py").write_text(PLUGIN)
    info = site / "gizmo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gizmo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[vsyncer.mappers]\ngizmos.example.com = gizmo_plugin:GizmoMapper\n"
    )


@pytest.mark.e2e
def test_an_undeclared_cache_stops_start_up_with_one_line(
    tmp_path: Path, namespace: str, host_kubeconfig: Path, virtual_kubeconfig: Path
) -> None:
    _install(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSYNCER_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
            "VSYNCER_VCLUSTER_NAME": "t",
            "VSYNCER_HOST_NAMESPACE": namespace,
            "VSYNCER_HOST_KUBECONFIG": str(host_kubeconfig),
            "VSYNCER_VIRTUAL_KUBECONFIG": str(virtual_kubeconfig),
            "VSYNCER_KINDS": "pods,gizmos.example.com",
            "VSYNCER_METRICS_BIND": "127.0.0.1:0",
            "VSYNCER_PROBES_BIND": "127.0.0.1:0",
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    # The daemon's own JSON log lines (the probes server it had started) aside, one line says why.
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vsyncer: start-up: mapper 'gizmos.example.com'")
    assert "'pods'" in lines[0]
