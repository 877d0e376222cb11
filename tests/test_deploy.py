"""deploy/: the manifests parse, and the host Role grants what the built-in mappers do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def _granted(kind: str, name: str) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for doc in _docs("rbac.yaml"):
        if doc["kind"] == kind and doc["metadata"]["name"].startswith(name):
            for rule in doc["rules"]:
                for resource in rule["resources"]:
                    rules.setdefault(resource, set()).update(rule["verbs"])
    return rules


def test_role_covers_host_writes() -> None:
    """Every kind the built-in mappers write on the host may be read and written there."""
    role = _granted("Role", "vsyncer")
    write = {"get", "list", "watch", "create", "update", "delete"}
    for resource in (
        "pods",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
    ):
        assert write <= role[resource], resource
    assert {"get", "list", "watch"} <= role["events"]
    assert {"get", "create", "update"} <= role["leases"]


def test_cluster_role_reads_nodes_only() -> None:
    """Cluster-wide, the syncer only reads nodes (for fake nodes)."""
    assert _granted("ClusterRole", "vsyncer") == {"nodes": {"get", "list", "watch"}}


def test_sidecar_probes_match_the_defaults() -> None:
    """The sidecar's probes and ports are the daemon's defaults: metrics 8080, probes 8081."""
    container = _docs("sidecar.yaml")[0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "probes": 8081}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
