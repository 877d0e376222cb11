"""The chart's host RBAC is generated from the enabled kinds and equals the host-access table,
and the table matches the host calls the code makes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from syncer import resources
from tests.deploy.chart_support import render, role_rules
from tests.deploy.hostaccess import (
    BUILTIN,
    DEFAULT,
    KIND_CLUSTER_RULES,
    KIND_RULES,
    LEASE_VERBS,
    MADE_BY_THE_CHART,
    READ,
    WRITE,
    expected_cluster_role,
    expected_role,
    values_key,
)

ROOT = Path(__file__).resolve().parents[2]


def _sync(kinds: tuple[str, ...]) -> dict[str, Any]:
    return {values_key(kind): {"enabled": kind in kinds} for kind in BUILTIN}


def _as_sets(rules: dict[tuple[str, str], frozenset[str]]) -> dict[tuple[str, str], set[str]]:
    return {key: set(verbs) for key, verbs in rules.items()}


def test_default_role_is_the_table_for_every_builtin_kind() -> None:
    """Default values: every built-in kind, the anchor, the kubelet API; nodes cluster-wide."""
    objects = render()
    assert role_rules(objects) == _as_sets(expected_role(DEFAULT))
    assert role_rules(objects, "ClusterRole") == _as_sets(expected_cluster_role(DEFAULT))


def test_every_builtin_kind_and_custom_resources() -> None:
    """Every built-in kind, a toHost and a fromHost custom resource."""
    custom = [
        {
            "resource": "widgets.example.com",
            "version": "v1",
            "kind": "Widget",
            "direction": "toHost",
        },
        {
            "resource": "gadgets.example.com",
            "version": "v1",
            "kind": "Gadget",
            "scope": "Cluster",
            "direction": "fromHost",
        },
    ]
    objects = render({"sync": {**_sync(BUILTIN), "customResources": custom}})
    want = expected_role(BUILTIN) | {("example.com", "widgets"): WRITE}
    assert role_rules(objects) == _as_sets(want)
    cluster = expected_cluster_role(BUILTIN) | {("example.com", "gadgets"): READ}
    assert role_rules(objects, "ClusterRole") == _as_sets(cluster)


@pytest.mark.parametrize("kind", BUILTIN)
def test_one_kind_grants_only_what_its_mapper_uses(kind: str) -> None:
    """A single kind: its rows only; a ClusterRole only for a kind read cluster-wide."""
    objects = render({"sync": _sync((kind,))})
    assert role_rules(objects) == _as_sets(expected_role((kind,)))
    cluster = [o for o in objects if o["kind"] in {"ClusterRole", "ClusterRoleBinding"}]
    assert bool(cluster) == bool(KIND_CLUSTER_RULES.get(kind))


def test_leader_election_isolation_and_no_kubelet() -> None:
    """Three replicas (leader election: its Lease by name, create), isolation with the
    namespace label (the one Namespace, cluster-wide), the kubelet API off."""
    values = {
        "replicas": 3,
        "sync": _sync(("pods", "configmaps")),
        "vsyncer": {
            "kubelet": {"enabled": False},
            "isolation": {"enabled": True, "labelNamespace": True},
            "leaderElection": {"id": "my-lease"},
        },
    }
    objects = render(values, namespace="tenant-b")
    want = expected_role(("pods", "configmaps"), kubelet=False, isolation=True, lease="my-lease")
    assert role_rules(objects) == _as_sets(want)
    assert role_rules(objects, "ClusterRole") == _as_sets(
        expected_cluster_role((), namespace="tenant-b")
    )


def test_set_owner_off_and_no_services_grants_no_service_read() -> None:
    objects = render({"sync": _sync(("configmaps",)), "vsyncer": {"setOwner": False}})
    assert ("", "services") not in role_rules(objects)


def test_bindings_name_the_chart_service_account() -> None:
    objects = render()
    accounts = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"}
    assert accounts == {"vc-vc", "vc-workload-vc"}
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        (binding,) = [o for o in objects if o["kind"] == kind]
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "vc-vc", "namespace": "tenant-a"}
        ]
    workload = next(o for o in objects if o["metadata"]["name"] == "vc-workload-vc")
    assert workload["automountServiceAccountToken"] is False


# -- the table against the code -----------------------------------------------------------

_VERB = {"create": "create", "update": "update", "delete": "delete", "update_status": "update"}


def _host_write_calls(paths: list[Path]) -> set[tuple[str, str]]:
    """(method, first argument's source) of every ``ctx.host.<method>(...)`` call."""
    calls: set[tuple[str, str]] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "host"
                and isinstance(node.func.value.value, ast.Name)
                and node.func.value.value.id == "ctx"
                and node.args
            ):
                calls.add((node.func.attr, ast.unparse(node.args[0])))
    return calls


def test_every_host_write_in_the_code_is_in_the_table() -> None:
    """Each ``ctx.host`` write in mappers/ and the kit is granted by the table: a named
    resource for the kinds, a generic one (the kit's ``resource``) for every writing kind;
    no status subresource or patch is written on the host."""
    paths = sorted((ROOT / "mappers").glob("*.py")) + sorted((ROOT / "syncer" / "kit").glob("*.py"))
    calls = _host_write_calls(paths)
    assert calls, "no host write found: the scan is broken"
    granted: dict[str, set[str]] = {}
    for rules in KIND_RULES.values():
        for (_, resource), verbs in rules.items():
            granted.setdefault(resource.partition(":")[0], set()).update(verbs)
    writing = [r for r, verbs in granted.items() if verbs >= WRITE]
    calls -= MADE_BY_THE_CHART
    for method, arg in sorted(calls):
        assert method in {"create", "update", "delete"}, f"ctx.host.{method}: add it to the table"
        constant = getattr(resources, arg, None)
        if isinstance(constant, resources.Resource):
            assert _VERB[method] in granted.get(constant.plural, set()), (method, arg)
        else:
            assert all(_VERB[method] in granted[r] for r in writing), (method, arg)
    used = {_VERB[m] for m, _ in calls}
    table_writes = set().union(*granted.values()) - {"get", "list", "watch"}
    assert table_writes == used, "a write verb the code never uses, or one the table lacks"


def test_lease_verbs_are_the_leaders_calls() -> None:
    """syncer/leader.py gets, creates and updates its Lease, nothing else."""
    tree = ast.parse((ROOT / "syncer" / "leader.py").read_text())
    methods = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.args
        and ast.unparse(node.args[0]) == "LEASES"
    }
    assert methods == LEASE_VERBS
