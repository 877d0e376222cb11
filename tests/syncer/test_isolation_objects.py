"""Tests for syncer.isolation_objects: the isolation objects' builders, pure."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.isolation_objects import (
    DEFAULT_LIMITS,
    DEFAULT_QUOTA,
    DEFAULT_REQUESTS,
    ISOLATION_LABEL,
    LIMITRANGES,
    NETWORKPOLICIES,
    PRIVATE_RANGES,
    PSA_ENFORCE_LABEL,
    RESOURCEQUOTAS,
    IsolationSpec,
    check_quantity,
    desired_objects,
    is_ours,
    limit_range,
    merged,
    namespace_label_patch,
    needs_update,
    network_policy,
    parse_overrides,
    quantity_value,
    resource_quota,
    selects,
    updated,
)
from syncer.translate import MANAGED_BY_LABEL, Translator

Json = dict[str, Any]
SPEC = IsolationSpec(vcluster="vc", host_namespace="vc-host")
labels_st = st.dictionaries(
    st.sampled_from(["app", "release", MANAGED_BY_LABEL, "tier", "k8s-app"]),
    st.sampled_from(["vc", "other", "web", "kube-dns"]),
    max_size=4,
)


def peers(rules: list[Json], direction: str) -> list[Json]:
    return [peer for rule in rules for peer in rule.get(direction, [])]


def test_defaults_are_vclusters_isolated_mode() -> None:
    """Quota, limits and requests default to vcluster's chart defaults; names are vcluster's."""
    objects = desired_objects(SPEC)
    assert set(objects) == {
        (RESOURCEQUOTAS, "vc-vc"),
        (LIMITRANGES, "vc-vc"),
        (NETWORKPOLICIES, "vc-work-vc"),
    }
    assert resource_quota(SPEC)["spec"] == {"hard": dict(DEFAULT_QUOTA)}
    assert DEFAULT_QUOTA["count/pods"] == "20"
    assert DEFAULT_QUOTA["requests.cpu"] == "10"
    item = limit_range(SPEC)["spec"]["limits"][0]
    assert item == {
        "type": "Container",
        "default": dict(DEFAULT_LIMITS),
        "defaultRequest": dict(DEFAULT_REQUESTS),
    }


def test_every_object_lives_in_the_host_namespace_and_is_ours() -> None:
    for body in desired_objects(SPEC).values():
        assert body["metadata"]["namespace"] == "vc-host"
        assert is_ours(body, vcluster="vc")
        assert not is_ours(body, vcluster="other")


def test_ownership_needs_both_labels() -> None:
    body = resource_quota(SPEC)
    only_marker = {"metadata": {"labels": {MANAGED_BY_LABEL: "vc"}}}
    only_isolation = {"metadata": {"labels": {ISOLATION_LABEL: "vc"}}}
    assert is_ours(body, vcluster="vc")
    assert not is_ours(only_marker, vcluster="vc")
    assert not is_ours(only_isolation, vcluster="vc")
    assert not is_ours({}, vcluster="vc")


def test_network_policy_can_be_left_out() -> None:
    spec = IsolationSpec(vcluster="vc", host_namespace="h", network_policy=False)
    assert {r for r, _ in desired_objects(spec)} == {RESOURCEQUOTAS, LIMITRANGES}


def test_policy_rules() -> None:
    """Ingress from own pods and the control plane; egress adds DNS on 53 and public ranges."""
    policy = network_policy(SPEC)["spec"]
    own = {"podSelector": {"matchLabels": {MANAGED_BY_LABEL: "vc"}}}
    control_plane = {"podSelector": {"matchLabels": {"release": "vc"}}}
    assert policy["podSelector"] == {"matchLabels": {MANAGED_BY_LABEL: "vc"}}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"from": [own, control_plane]}]
    assert policy["egress"][0] == {"to": [own, control_plane]}
    dns = policy["egress"][1]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert dns["to"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
    }
    public = policy["egress"][2]["to"][0]["ipBlock"]
    assert public == {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}


def test_no_public_egress_and_an_allow_list() -> None:
    spec = IsolationSpec(
        vcluster="vc",
        host_namespace="h",
        public_egress=False,
        allow_cidrs=("192.0.2.0/24",),
        allow_namespaces=("monitoring",),
        control_plane={"app": "vcluster", "release": "vc"},
    )
    policy = network_policy(spec)["spec"]
    allowed: list[Json] = [
        {"ipBlock": {"cidr": "192.0.2.0/24"}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
    ]
    assert policy["ingress"][-1] == {"from": allowed}
    assert policy["egress"][-1] == {"to": allowed}
    assert all("0.0.0.0/0" not in str(rule) for rule in policy["egress"])
    assert policy["ingress"][0]["from"][1] == {
        "podSelector": {"matchLabels": {"app": "vcluster", "release": "vc"}}
    }


def test_private_ranges_are_never_public() -> None:
    for cidr in PRIVATE_RANGES:
        network = ipaddress.ip_network(cidr)
        assert network.is_private or network.is_loopback or cidr == "100.64.0.0/10"


@given(own=labels_st, other_vc=st.sampled_from(["vc2", "other", "x"]))
def test_policy_selects_exactly_this_vclusters_workloads(
    own: dict[str, str], other_vc: str
) -> None:
    """The translated labels of any tenant pod of this vcluster are selected; another
    vcluster's translation of the very same pod is not (tenants cannot set the marker)."""
    selector = network_policy(SPEC)["spec"]["podSelector"]
    mine = Translator(vcluster="vc", host_namespace="vc-host").translate_labels(
        own, namespace="shop"
    )
    theirs = Translator(vcluster=other_vc, host_namespace="vc-host").translate_labels(
        own, namespace="shop"
    )
    assert selects(selector, mine)
    assert not selects(selector, theirs)


@given(labels=labels_st)
def test_tenant_labels_never_make_a_pod_the_control_plane(labels: dict[str, str]) -> None:
    """``release`` is renamed on tenant pods, so no tenant pod matches the control plane."""
    translated = Translator(vcluster="vc", host_namespace="h").translate_labels(
        labels, namespace="shop"
    )
    assert not selects({"matchLabels": SPEC.control_plane_labels}, translated)


def test_selects_expressions() -> None:
    expr = {
        "matchExpressions": [
            {"key": "a", "operator": "In", "values": ["1", "2"]},
            {"key": "b", "operator": "NotIn", "values": ["x"]},
            {"key": "c", "operator": "Exists"},
            {"key": "d", "operator": "DoesNotExist"},
        ]
    }
    assert selects(expr, {"a": "1", "c": ""})
    assert not selects(expr, {"a": "3", "c": ""})
    assert not selects(expr, {"a": "1", "b": "x", "c": ""})
    assert not selects(expr, {"a": "1"})
    assert not selects(expr, {"a": "1", "c": "", "d": "1"})
    assert selects({}, {"anything": "x"})


@pytest.mark.parametrize("value", ["1", "100m", "20Gi", "0.5", "1e3", "512Mi", "+2"])
def test_quantities_accepted(value: str) -> None:
    assert check_quantity(value) == value


@pytest.mark.parametrize("value", ["", "abc", "1GB", "-1", "1 Gi", "1.2.3"])
def test_quantities_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        check_quantity(value)


def test_overrides_merge_over_defaults_and_remove() -> None:
    quota = merged(
        DEFAULT_QUOTA, ["count/pods=3", "requests.storage=", "requests.nvidia.com/gpu=2"]
    )
    assert quota["count/pods"] == "3"
    assert "requests.storage" not in quota
    assert quota["requests.nvidia.com/gpu"] == "2"
    assert quota["requests.cpu"] == DEFAULT_QUOTA["requests.cpu"]
    with pytest.raises(ValueError, match="resource=quantity"):
        parse_overrides(["pods"])
    with pytest.raises(ValueError, match="resource=quantity"):
        parse_overrides(["Bad Name=1"])


def test_needs_update_on_spec_or_ownership_labels_only() -> None:
    want = resource_quota(SPEC)
    have: Json = {**want, "metadata": {**want["metadata"], "resourceVersion": "7"}}
    assert not needs_update(have, want)
    extra = {
        **have,
        "metadata": {**have["metadata"], "labels": {**want["metadata"]["labels"], "x": "y"}},
    }
    assert not needs_update(extra, want)
    edited = {**have, "spec": {"hard": {**want["spec"]["hard"], "count/pods": "1000"}}}
    assert needs_update(edited, want)
    stripped = {**have, "metadata": {**have["metadata"], "labels": {MANAGED_BY_LABEL: "vc"}}}
    assert needs_update(stripped, want)


def test_updated_keeps_others_metadata_and_the_version() -> None:
    want = resource_quota(SPEC)
    have = {
        "metadata": {
            "name": "vc-vc",
            "namespace": "vc-host",
            "resourceVersion": "9",
            "uid": "u",
            "labels": {"team": "a", ISOLATION_LABEL: "vc", MANAGED_BY_LABEL: "vc"},
            "annotations": {"note": "kept"},
            "ownerReferences": [{"kind": "Service", "name": "vc"}],
            "managedFields": [{"manager": "x"}],
        },
        "spec": {"hard": {"count/pods": "1"}},
    }
    body = updated(have, want)
    assert body["spec"] == want["spec"]
    assert body["metadata"]["resourceVersion"] == "9"
    assert body["metadata"]["labels"]["team"] == "a"
    assert body["metadata"]["annotations"] == {"note": "kept"}
    assert body["metadata"]["ownerReferences"] == [{"kind": "Service", "name": "vc"}]
    assert "managedFields" not in body["metadata"]


def test_namespace_label_patch_only_when_it_differs() -> None:
    ns = {"metadata": {"name": "h", "labels": {PSA_ENFORCE_LABEL: "baseline", "team": "a"}}}
    assert namespace_label_patch(ns, "baseline") is None
    assert namespace_label_patch(ns, "restricted") == {
        "metadata": {"labels": {PSA_ENFORCE_LABEL: "restricted"}}
    }
    assert namespace_label_patch({"metadata": {"name": "h"}}, "baseline") is not None


def test_namespace_label_patch_never_lowers_a_stricter_level() -> None:
    strict = {"metadata": {"name": "h", "labels": {PSA_ENFORCE_LABEL: "restricted"}}}
    assert namespace_label_patch(strict, "baseline") is None
    assert namespace_label_patch(strict, "privileged") is None
    loose = {"metadata": {"name": "h", "labels": {PSA_ENFORCE_LABEL: "privileged"}}}
    assert namespace_label_patch(loose, "baseline") == {
        "metadata": {"labels": {PSA_ENFORCE_LABEL: "baseline"}}
    }
    odd = {"metadata": {"name": "h", "labels": {PSA_ENFORCE_LABEL: "bogus"}}}
    assert namespace_label_patch(odd, "baseline") is not None


def test_builders_are_pure() -> None:
    """The builders import no client, informer, controller or daemon."""
    path = Path(__file__).resolve().parents[2] / "syncer" / "isolation_objects.py"
    tree = ast.parse(path.read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules <= {
        "__future__",
        "re",
        "collections.abc",
        "dataclasses",
        "decimal",
        "typing",
        "syncer.resources",
        "syncer.translate",
    }


@given(n=st.integers(min_value=0, max_value=10**12))
def test_quantity_values_follow_the_suffixes(n: int) -> None:
    assert quantity_value(f"{n}Ki") == n * 1024
    assert quantity_value(f"{n}Mi") == n * 1024**2
    assert quantity_value(f"{n}k") == n * 1000
    assert quantity_value(f"{n * 1000}m") == n
    assert quantity_value(f"{n}e3") == n * 1000
    assert quantity_value(f"{n}E") == n * 1000**6


@pytest.mark.parametrize(
    ("stored", "wanted", "differs"),
    [
        ("500m", "0.5", False),
        ("1Gi", "1073741824", False),
        ("1G", "1000M", False),
        ("1k", "1e3", False),
        ("2", "3", True),
        ("1Gi", "1G", True),
    ],
)
def test_quantities_compare_by_value(stored: str, wanted: str, differs: bool) -> None:
    """The API server stores quantities canonically: that form alone is not drift."""
    want = resource_quota(IsolationSpec(vcluster="vc", host_namespace="h", quota={"x": wanted}))
    have = {**want, "spec": {"hard": {"x": stored}}}
    assert needs_update(have, want) is differs
