"""The Grafana dashboard (deploy/chart/dashboards/vsyncer.json) reads only what vsyncer
exports: every panel query and variable query names metrics a real Metrics() registry
renders, and the panels the operator needs are there."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from syncer.metrics import Metrics
from tests.promql import exported, metric_names

LABEL_VALUES = re.compile(r"label_values\((.+),\s*\w+\)")
DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "chart" / "dashboards" / "vsyncer.json"


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression: panel targets and query variables."""
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":  # Grafana's label_values(SELECTOR, LABEL)
            found = LABEL_VALUES.fullmatch(variable["definition"])
            assert found is not None, variable["definition"]
            exprs.append(found.group(1))
    return exprs


EXPORTED = exported(Metrics().render()[0].decode())


def test_exported_names_come_from_the_real_registry() -> None:
    """Histogram and counter suffixes and the process collector are derived, not listed."""
    assert {
        "vsyncer_sync_lag_seconds_bucket",
        "vsyncer_reconcile_total",
        "workqueue_depth",
        "process_resident_memory_bytes",
        "python_gc_collections_total",
    } <= EXPORTED
    assert "vsyncer_sync_lag_seconds" not in EXPORTED


@pytest.mark.parametrize("expr", queries(load()))
def test_every_query_names_only_exported_metrics(expr: str) -> None:
    """Each query reads at least one metric, and only metrics vsyncer exports."""
    names = metric_names(expr)
    assert names, expr
    assert names <= EXPORTED, names - EXPORTED


def test_the_checker_catches_a_name_vsyncer_does_not_export() -> None:
    """A misspelt metric, bare or in a selector, is not among the exported names."""
    assert metric_names('rate(vsyncer_reconciles_total{job="x"}[5m])') - EXPORTED
    assert metric_names("sum by (kind) (workqueue_dpth)") - EXPORTED


def test_the_panels_an_operator_needs_are_there() -> None:
    """Queue depth and latency, reconciles and errors, sync lag per direction, REST by
    verb and code, CPU and RSS."""
    exprs = " ".join(queries(load()))
    for name in (
        "workqueue_depth",
        "workqueue_queue_duration_seconds_bucket",
        "vsyncer_reconcile_total",
        "vsyncer_sync_lag_seconds_bucket",
        "vsyncer_rest_requests_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ):
        assert name in exprs, name
    assert "by (kind, direction, le)" in exprs
    assert "by (cluster, verb, code)" in exprs


def test_panel_ids_are_unique_and_the_grid_does_not_overlap() -> None:
    """Grafana keys panels by id; no two panels share a cell of the 24-column grid."""
    all_panels = panels(load())
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in all_panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells
