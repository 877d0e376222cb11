"""``vsyncer rbac`` and :mod:`syncer.rbac`: the host rules follow the settings, least privilege."""

from __future__ import annotations

import json

import pytest
import yaml

from syncer.cli import main
from syncer.rbac import READ, WRITE, host_rules, manifests, rule_list
from syncer.settings import load_settings

BASE = {"VSYNCER_VCLUSTER_NAME": "vc", "VSYNCER_HOST_NAMESPACE": "tenant-a"}
CUSTOMS = [
    {"resource": "widgets.example.com", "version": "v1", "kind": "Widget", "direction": "toHost"},
    {
        "resource": "gadgets.example.com",
        "version": "v1",
        "kind": "Gadget",
        "scope": "Cluster",
        "direction": "fromHost",
    },
]


def test_custom_resources_both_ways() -> None:
    """toHost: written in the host namespace only; fromHost: read cluster-wide only; their
    CRDs read cluster-wide, though VSYNCER_KINDS does not name that kind."""
    env = {**BASE, "VSYNCER_KINDS": "configmaps", "VSYNCER_CUSTOM_RESOURCES": json.dumps(CUSTOMS)}
    rules = host_rules(load_settings(env=env))
    assert rules.namespaced == {
        ("", "configmaps"): WRITE,
        ("", "services"): frozenset({"get"}),  # the owner anchor
        ("example.com", "widgets"): WRITE,
    }
    assert rules.cluster == {
        ("example.com", "gadgets"): READ,
        ("apiextensions.k8s.io", "customresourcedefinitions"): READ,
    }


def test_features_add_exactly_their_rules() -> None:
    """Leader election: its Lease by name; isolation with the namespace label: that Namespace
    by name; no owner anchor: no service read; pods without a kubelet client CA: no pods/exec."""
    env = {
        **BASE,
        "VSYNCER_KINDS": "pods",
        "VSYNCER_LEADER_ELECT": "true",
        "VSYNCER_LEADER_ELECTION_ID": "my-lease",
        "VSYNCER_ISOLATION": "true",
        "VSYNCER_ISOLATION_LABEL_NAMESPACE": "true",
        "VSYNCER_SET_OWNER": "false",
        "VSYNCER_WORKLOAD_SERVICE_ACCOUNT": "runner",
    }
    rules = host_rules(load_settings(env=env))
    assert rules.namespaced[("coordination.k8s.io", "leases:my-lease")] == {"get", "update"}
    assert rules.namespaced[("coordination.k8s.io", "leases")] == {"create"}
    assert rules.namespaced[("", "serviceaccounts:runner")] == {"get"}
    assert ("", "services") not in rules.namespaced
    assert ("", "pods/exec") not in rules.namespaced
    assert rules.cluster == {("", "namespaces:tenant-a"): READ | {"patch"}}


def test_a_rule_per_key_with_resource_names() -> None:
    rules = {("", "serviceaccounts:runner"): frozenset({"get"}), ("", "pods"): READ}
    assert rule_list(rules) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts"],
            "resourceNames": ["runner"],
            "verbs": ["get"],
        },
    ]


def test_the_command_prints_the_role_and_cluster_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """YAML documents named as the chart names them; the rules are host_rules'."""
    env = {**BASE, "VSYNCER_KINDS": "pods,nodes", "VSYNCER_CUSTOM_RESOURCES": json.dumps(CUSTOMS)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["rbac"]) == 0
    role, cluster = yaml.safe_load_all(capsys.readouterr().out)
    assert (role["kind"], role["metadata"]) == ("Role", {"name": "vc-vc", "namespace": "tenant-a"})
    assert (cluster["kind"], cluster["metadata"]["name"]) == ("ClusterRole", "vc-vc-tenant-a")
    assert [role, cluster] == manifests(load_settings(env=env))


def test_only_namespaced_rules_print_no_cluster_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**BASE, "VSYNCER_KINDS": "configmaps"}.items():
        monkeypatch.setenv(name, value)
    assert main(["rbac"]) == 0
    assert [o["kind"] for o in yaml.safe_load_all(capsys.readouterr().out)] == ["Role"]


def test_a_bad_setting_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**BASE, "VSYNCER_CUSTOM_RESOURCES": "[{"}.items():
        monkeypatch.setenv(name, value)
    assert main(["rbac"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vsyncer rbac: VSYNCER_CUSTOM_RESOURCES")
    assert err.count("\n") == 1
