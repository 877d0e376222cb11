"""The chart's RBAC is what ``vsyncer rbac`` answers for the settings the chart gives vsyncer:
for each values combination, the rendered StatefulSet's environment is loaded as vsyncer's
settings and :func:`syncer.rbac.host_rules` of them must equal the rendered Role and ClusterRole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncer.rbac import host_rules
from syncer.settings import load_settings
from tests.deploy.chart_support import container, env_of, render, role_rules
from tests.deploy.hostaccess import BUILTIN, values_key

NAMESPACE = "tenant-a"
WIDGETS = {"resource": "widgets.example.com", "version": "v1", "kind": "Widget"}
GADGETS = {"resource": "gadgets.example.com", "version": "v1", "kind": "Gadget"}
SECRET_REF = {"path": "spec.secretRef.name", "type": "reference", "kind": "secrets"}


def _sync(*kinds: str, **more: Any) -> dict[str, Any]:
    return {**{values_key(kind): {"enabled": kind in kinds} for kind in BUILTIN}, **more}


CASES = {
    "defaults": {},
    "custom resources both ways": {
        "sync": _sync(
            "configmaps",
            "secrets",
            customResources=[
                {**WIDGETS, "direction": "toHost", "patches": [SECRET_REF]},
                {**GADGETS, "scope": "Cluster", "direction": "fromHost"},
            ],
        )
    },
    "every kind, a toHost custom resource": {
        "sync": _sync(*BUILTIN, customResources=[{**WIDGETS, "direction": "toHost"}])
    },
    "leader election, isolation, no kubelet, no owner": {
        "replicas": 3,
        "sync": _sync("pods", "nodes"),
        "vsyncer": {
            "kubelet": {"enabled": False},
            "isolation": {"enabled": True, "labelNamespace": True},
            "leaderElection": {"id": "my-lease"},
            "setOwner": False,
        },
    },
}


@pytest.mark.parametrize("values", CASES.values(), ids=list(CASES))
def test_the_chart_grants_what_vsyncer_rbac_prints(values: dict[str, Any], tmp_path: Path) -> None:
    """Files the settings name (CA, certificates) are stand-ins here: only whether they are
    set counts; the pod's namespace is the release's."""
    objects = render(values, namespace=NAMESPACE)
    env: dict[str, str] = {}
    for name, value in env_of(container(objects, "vsyncer")).items():
        if name.endswith("_KUBECONFIG"):
            continue  # where the clusters are has no bearing on the rules
        if isinstance(value, str) and value.startswith("/"):
            stand_in = tmp_path / name
            stand_in.touch()
            env[name] = str(stand_in)
        elif isinstance(value, str):
            env[name] = value
        elif value == {"fieldRef": {"fieldPath": "metadata.namespace"}}:
            env[name] = NAMESPACE
    rules = host_rules(load_settings(env=env))
    as_sets = {key: set(verbs) for key, verbs in rules.namespaced.items()}
    assert role_rules(objects) == as_sets
    assert role_rules(objects, "ClusterRole") == {k: set(v) for k, v in rules.cluster.items()}
