"""The chart's monitoring pack, rendered by Helm: off by default; the ServiceMonitor scrapes
only this release's vsyncer (never a tenant's pod); every alert reads only exported metrics."""

from __future__ import annotations

import json
from typing import Any

from syncer.metrics import Metrics
from syncer.translate import Translator
from tests.deploy.chart_support import CHART, helm, one, render, render_failure
from tests.deploy.promql_parser import parse
from tests.promql import exported, metric_names
from tests.test_dashboard import load, queries

ON = {
    "monitoring": {
        "serviceMonitor": {"enabled": True, "labels": {"prometheus": "main"}},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True, "namespace": "monitoring"},
    }
}
KINDS = {"ServiceMonitor", "PrometheusRule"}
EXPORTED = exported(Metrics().render()[0].decode())


def alerts(objects: list[dict[str, Any]]) -> dict[str, str]:
    rule = one(objects, "PrometheusRule")
    return {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}


def test_off_by_default() -> None:
    """No monitoring object, metrics Service or dashboard without the values."""
    objects = render()
    assert not [o for o in objects if o["kind"] in KINDS]
    assert not [o for o in objects if o["metadata"]["name"].endswith(("-metrics", "-dashboard"))]


def test_the_service_monitor_selects_only_this_release_s_vsyncer() -> None:
    """ServiceMonitor → the metrics Service (component metrics, this release) → the
    StatefulSet's pods by a selector no synced tenant pod can match; the ServiceMonitor's own
    selector no synced tenant Service can match."""
    objects = render(ON, release="vc", namespace="tenant-a")
    monitor = one(objects, "ServiceMonitor")
    service = one(objects, "Service", "vc-metrics")
    pods = one(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert monitor["metadata"]["labels"]["prometheus"] == "main"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["tenant-a"]}
    wanted = monitor["spec"]["selector"]["matchLabels"]
    assert wanted == {
        "app.kubernetes.io/name": "vsyncer",
        "app.kubernetes.io/instance": "vc",
        "app.kubernetes.io/component": "metrics",
        "release": "vc",
    }
    assert wanted.items() <= service["metadata"]["labels"].items()
    # A tenant Service labelled exactly like the metrics Service: its host copy does not match.
    copy = Translator(vcluster="vc", host_namespace="tenant-a").translate_labels(
        dict(service["metadata"]["labels"]), namespace="shop"
    )
    assert not wanted.items() <= copy.items()
    others = [o for o in objects if o["kind"] == "Service" and o is not service]
    assert all(not wanted.items() <= o["metadata"]["labels"].items() for o in others)
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    selector = service["spec"]["selector"]
    assert selector.items() <= pods.items()
    # A tenant labels its pod exactly like vsyncer's: the host copy still does not match.
    tenant = Translator(vcluster="vc", host_namespace="tenant-a")
    host_labels = tenant.translate_labels(dict(selector), namespace="shop")
    assert not selector.items() <= host_labels.items()


def test_every_alert_the_issue_asks_for_reads_only_exported_metrics() -> None:
    """The alerts exist (leader missing only with leader election) and each expression names
    metrics a real Metrics() registry exports, scoped to this release's series."""
    with_leader = alerts(render({**ON, "replicas": 2}))
    assert set(with_leader) == {
        "VsyncerDown",
        "VsyncerWorkQueueGrowing",
        "VsyncerReconcileErrors",
        "VsyncerSyncLagHigh",
        "VsyncerWatchRestartStorm",
        "VsyncerLeaderMissing",
        "VsyncerKindNotReady",
    }
    assert "VsyncerLeaderMissing" not in alerts(render(ON))
    for name, expr in with_leader.items():
        names = metric_names(expr)
        assert names, name
        assert names <= EXPORTED, (name, names - EXPORTED)
        assert 'namespace="tenant-a",service="vc-metrics"' in expr, name


def test_the_dashboard_config_map_carries_the_dashboard_for_the_sidecar() -> None:
    """The ConfigMap has Grafana's sidecar label and the JSON file unchanged, in the
    namespace given."""
    objects = render(ON)
    config = one(objects, "ConfigMap", "vc-vsyncer-dashboard")
    assert config["metadata"]["namespace"] == "monitoring"
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["vsyncer.json"])["uid"] == "vsyncer"


def test_the_dashboard_is_never_put_where_tenants_config_maps_are_synced() -> None:
    """No namespace, or the release namespace (``default`` here), fails the render with a
    message naming the value: a sidecar watching that namespace would load a synced tenant
    ConfigMap as a dashboard."""
    for namespace in ("", "default"):
        values = {"monitoring": {"dashboard": {"enabled": True, "namespace": namespace}}}
        error = render_failure(values)
        assert "monitoring.dashboard.namespace" in error
        assert 'not the release namespace "default"' in error


def test_a_tenant_config_map_labelled_for_the_sidecar_loses_the_label_on_the_host() -> None:
    """Defence in depth: the label keys the chart's dashboard carries for the sidecar never
    reach the host on a tenant's object (the default host label denylist renames them)."""
    sidecar = one(render(ON), "ConfigMap", "vc-vsyncer-dashboard")["metadata"]["labels"]
    chart_own = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "release"}
    chart_own |= {"app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"}
    keys = set(sidecar) - chart_own
    assert keys == {"grafana_dashboard"}
    copy = Translator(vcluster="vc", host_namespace="tenant-a").translate_labels(
        dict.fromkeys(keys, "1"), namespace="shop"
    )
    assert not keys & set(copy)


def test_every_alert_and_dashboard_query_parses_with_prometheus_own_parser() -> None:
    """Prometheus' parser accepts every expression (Grafana's $__rate_interval as 5m) and
    finds exactly the metric names the unit test's reading finds, all of them exported."""
    dashboard = [q.replace("$__rate_interval", "5m") for q in queries(load())]
    exprs = [*alerts(render({**ON, "replicas": 2})).values(), *dashboard]
    for expr, parsed in zip(exprs, parse(exprs), strict=True):
        assert parsed.error is None, (expr, parsed.error)
        assert parsed.metrics, expr
        assert set(parsed.metrics) <= EXPORTED, expr
        assert set(parsed.metrics) == metric_names(expr), expr


def test_the_parser_rejects_what_prometheus_would() -> None:
    """An unclosed parenthesis and an unknown function are errors, not metric names."""
    unclosed, unknown = parse(["rate(vsyncer_leader[5m]", "rat(vsyncer_leader[5m])"])
    assert unclosed.error is not None
    assert unknown.error is not None


def test_helm_lint_passes_strictly_with_monitoring_on() -> None:
    """``helm lint --strict`` of the chart with every monitoring part on."""
    out = helm("lint", str(CHART), "--strict", values={**ON, "replicas": 2})
    assert "0 chart(s) failed" in out
