"""The chart's monitoring objects against the real host API server.

The Prometheus Operator's own CustomResourceDefinitions (ServiceMonitor,
PrometheusRule; from its Go module at a pinned version, through the Go module
proxy, like the control plane) are installed into the local host cluster; the
chart's rendered ServiceMonitor, PrometheusRule, metrics Service and dashboard
ConfigMap are then created there, and each reads back with every field it was
sent: the CRDs' schemas accept them whole (a field a schema does not know would
be pruned).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from syncer.errors import AlreadyExists, NotFound
from syncer.explaindiff import field_diff
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, NAMESPACES, SERVICES, Resource
from tests.deploy.chart_support import render
from tests.kubehelpers import wait_for_object

OPERATOR = "github.com/prometheus-operator/prometheus-operator"
OPERATOR_VERSION = "v0.85.0"
CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)
SERVICE_MONITORS = Resource("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor")
PROMETHEUS_RULES = Resource("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule")
BY_KIND = {
    "ServiceMonitor": SERVICE_MONITORS,
    "PrometheusRule": PROMETHEUS_RULES,
    "Service": SERVICES,
    "ConfigMap": CONFIGMAPS,
}
ON: dict[str, Any] = {
    "replicas": 2,
    "monitoring": {
        "serviceMonitor": {"enabled": True, "scrapeTimeout": "10s"},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True},
    },
}
Json = dict[str, Any]


def operator_crds(workdir: Path) -> list[Json]:
    """The ServiceMonitor and PrometheusRule CRDs of the pinned Prometheus Operator module."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"{OPERATOR}@{OPERATOR_VERSION}"],
        cwd=workdir,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    source = Path(json.loads(proc.stdout)["Dir"]) / "example" / "prometheus-operator-crd"
    names = ("servicemonitors", "prometheusrules")
    return [yaml.safe_load((source / f"monitoring.coreos.com_{n}.yaml").read_text()) for n in names]


def established(crd: Json | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


async def create_when_served(host: KubeClient, resource: Resource, obj: Json, ns: str) -> Json:
    """Create ``obj``; a CRD just established may take a moment to be served (bounded)."""
    async with asyncio.timeout(30):
        while True:
            try:
                return await host.create(resource, namespace=ns, body=obj)
            except NotFound:
                await asyncio.sleep(0.2)  # the resource is not served yet; ask again


async def test_the_monitoring_objects_are_accepted_whole(
    namespace: str, host: KubeClient, tmp_path: Path
) -> None:
    """Every rendered monitoring object is created in the host namespace and reads back with
    every field it was sent."""
    for crd in operator_crds(tmp_path):
        with contextlib.suppress(AlreadyExists):  # installed earlier in this session
            await host.create(CRDS, namespace=None, body=crd)
        name = crd["metadata"]["name"]
        await wait_for_object(host, CRDS, namespace=None, name=name, predicate=established)
    # The dashboard goes to the namespace Grafana's sidecar watches, never the release's.
    dashboards = f"{namespace}-dash"
    await host.create(NAMESPACES, namespace=None, body={"metadata": {"name": dashboards}})
    monitoring = {**ON["monitoring"], "dashboard": {"enabled": True, "namespace": dashboards}}
    rendered = render({**ON, "monitoring": monitoring}, release="vc", namespace=namespace)
    wanted = [
        o
        for o in rendered
        if o["kind"] in ("ServiceMonitor", "PrometheusRule")
        or o["metadata"]["name"] in ("vc-metrics", "vc-vsyncer-dashboard")
    ]
    assert sorted(o["kind"] for o in wanted) == [
        "ConfigMap",
        "PrometheusRule",
        "Service",
        "ServiceMonitor",
    ]
    for obj in wanted:
        resource = BY_KIND[obj["kind"]]
        ns = obj["metadata"].get("namespace", namespace)
        await create_when_served(host, resource, obj, ns)
        stored = await host.get(resource, namespace=ns, name=obj["metadata"]["name"])
        assert field_diff(obj, stored) == [], obj["kind"]
