"""The pure half of vsyncer explain: targets, ownership verdicts, field diffs, exit codes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.errors import ConfigError
from syncer.explain import EXIT_DRIFTED, EXIT_IN_SYNC, EXIT_NOT_OURS, Report, Target, explain
from syncer.explaindiff import Difference, Ownership, Verdict, field_diff, ownership
from syncer.keys import ObjectKey
from syncer.resources import CONFIGMAPS
from syncer.settings import Settings
from syncer.translate import MANAGED_BY_LABEL, Translator

T = Translator(vcluster="vc", host_namespace="host-ns")
KEY = ObjectKey("configmaps", "shop", "web")


def host_copy(namespace: str = "shop", name: str = "web") -> dict[str, Any]:
    p_name = T.host_name(namespace, name)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": p_name,
            "namespace": "host-ns",
            "uid": "u-1",
            "resourceVersion": "7",
            "labels": T.translate_labels({"app": "web"}, namespace=namespace),
            "annotations": T.provenance_annotations(
                kind_string=CONFIGMAPS.kind_string,
                namespace=namespace,
                name=name,
                uid="v-1",
                host_name=p_name,
            ),
        },
        "data": {"a": "1"},
    }


def is_managed(p_obj: Any) -> bool:
    return T.is_owned(p_obj, kind_string=CONFIGMAPS.kind_string)


def host_to_virtual(p_obj: Any) -> ObjectKey | None:
    found = T.virtual_key_from_host(p_obj)
    return ObjectKey("configmaps", *found) if found else None


def verdict(p_obj: Any, key: ObjectKey | None = KEY) -> Ownership:
    return ownership(
        p_obj, vcluster="vc", is_managed=is_managed, host_to_virtual=host_to_virtual, key=key
    ).ownership


@pytest.mark.parametrize(
    ("text", "host", "target"),
    [
        ("pods/shop/web", None, Target("pods", "shop", "web")),
        ("nodes/n1", None, Target("nodes", "", "n1")),
        ("widgets.example.com/a/b", None, Target("widgets.example.com", "a", "b")),
        ("pods", "web-x-shop-x-vc", Target("pods", host_name="web-x-shop-x-vc")),
    ],
)
def test_targets_parse(text: str, host: str | None, target: Target) -> None:
    """KIND/NAMESPACE/NAME, KIND/NAME and KIND --host NAME."""
    assert Target.parse(text, host_name=host) == target


@pytest.mark.parametrize(
    ("text", "host", "setting"),
    [("pods", None, "TARGET"), ("a/b/c/d", None, "TARGET"), ("pods//x", None, "TARGET"),
     ("pods/shop/web", "x", "--host"), ("pods", "", "--host")],
)  # fmt: skip
def test_bad_targets_name_the_argument(text: str, host: str | None, setting: str) -> None:
    """A malformed target is a ConfigError naming TARGET or --host."""
    with pytest.raises(ConfigError) as caught:
        Target.parse(text, host_name=host)
    assert caught.value.setting == setting


def test_ownership_classes() -> None:
    """Missing, foreign, another vcluster, spoofed, ours: vcluster's rules in that order."""
    ours = host_copy()
    foreign = copy.deepcopy(ours)
    del foreign["metadata"]["labels"][MANAGED_BY_LABEL]
    other = copy.deepcopy(ours)
    other["metadata"]["labels"][MANAGED_BY_LABEL] = "vc2"
    renamed = copy.deepcopy(ours)
    renamed["metadata"]["name"] = "someone-elses"
    assert verdict(None) is Ownership.MISSING
    assert verdict(foreign) is Ownership.FOREIGN
    assert verdict(other) is Ownership.OTHER_VCLUSTER
    assert verdict(renamed) is Ownership.SPOOFED
    assert verdict(ours) is Ownership.OURS
    assert verdict(ours, key=None) is Ownership.OURS


def test_the_copy_of_another_key_under_a_colliding_name_is_not_ours() -> None:
    """``c/a-x-b`` and ``b-x-c/a`` share a host name: one's copy is not the other's."""
    p_obj = host_copy(namespace="c", name="a-x-b")
    assert T.host_name("c", "a-x-b") == T.host_name("b-x-c", "a")
    assert verdict(p_obj, key=ObjectKey("configmaps", "b-x-c", "a")) is Ownership.SPOOFED


def test_server_fields_and_host_defaults_do_not_count() -> None:
    """uid, resourceVersion, status and fields only the host has are no difference."""
    want = host_copy()
    have = copy.deepcopy(want)
    have["metadata"]["uid"] = "other"
    have["metadata"]["managedFields"] = [{"manager": "x"}]
    have["status"] = {"phase": "Bound"}
    have["immutable"] = False
    want["metadata"]["resourceVersion"] = "1"
    assert field_diff(want, have) == []


def test_labels_and_annotations_are_compared_whole() -> None:
    """A label only on the host is reported; a key with dots or slashes is quoted."""
    want = host_copy()
    have = copy.deepcopy(want)
    have["metadata"]["labels"]["app.kubernetes.io/name"] = "x"
    have["data"]["a"] = "2"
    assert field_diff(want, have) == [
        Difference('metadata.labels["app.kubernetes.io/name"]', None, "x", only_on_host=True),
        Difference("data.a", "1", "2"),
    ]


def test_lists_item_by_item_or_whole() -> None:
    """Same length: item paths; other length: the list."""
    want = {"spec": {"ports": [{"port": 80}, {"port": 81}]}}
    have = {"spec": {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 82}]}}
    assert field_diff(want, have) == [Difference("spec.ports[1].port", 81, 82)]
    shorter = {"spec": {"ports": [{"port": 80}]}}
    assert [d.path for d in field_diff(want, shorter)] == ["spec.ports"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["spec", "data", "x.y"]), json_values))
def test_an_object_never_differs_from_itself(obj: dict[str, Any]) -> None:
    """field_diff(o, o) is empty for any JSON object."""
    assert field_diff(obj, copy.deepcopy(obj)) == []


@given(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8))
def test_a_changed_leaf_is_reported_at_its_path(old: str, new: str) -> None:
    """One changed scalar is exactly one difference, with both values."""
    want = {"data": {"k": old}}
    found = field_diff(want, {"data": {"k": new}})
    assert found == ([] if old == new else [Difference("data.k", old, new)])


def report(owner: Ownership, *, exists: bool = True, drift: str | None = None) -> Report:
    return Report(
        key=KEY,
        host_name="web-x-shop-x-vc",
        host_key=KEY,
        virtual_exists=exists,
        verdict=Verdict(owner, "why"),
        drift=drift,
        differences=(),
        diff_known=True,
    )


def test_exit_codes() -> None:
    """0 in sync, 1 drifted (drift, missing copy, orphan), 2 not ours or found nowhere."""
    assert report(Ownership.OURS).code == EXIT_IN_SYNC
    assert report(Ownership.OURS, drift="data").code == EXIT_DRIFTED
    assert report(Ownership.OURS, exists=False).code == EXIT_DRIFTED
    assert report(Ownership.MISSING, drift="missing").code == EXIT_DRIFTED
    assert report(Ownership.MISSING).code == EXIT_IN_SYNC
    assert report(Ownership.MISSING, exists=False).code == EXIT_NOT_OURS
    assert report(Ownership.MISSING, exists=False).lines()[-1] == "verdict: not found"
    for owner in (Ownership.FOREIGN, Ownership.OTHER_VCLUSTER, Ownership.SPOOFED):
        assert report(owner).code == EXIT_NOT_OURS
    assert report(Ownership.SPOOFED).lines()[-1] == "verdict: not ours"


def test_a_host_object_a_mapper_only_reads_is_ours_without_a_marker() -> None:
    """A host node (no marker label) is ours to a mapper that takes every node as its own."""
    node = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}
    found = ownership(
        node,
        vcluster="vc",
        is_managed=lambda _: True,
        host_to_virtual=lambda obj: ObjectKey("nodes", "", obj["metadata"]["name"]),
        key=ObjectKey("nodes", "", "n1"),
    )
    assert found.ownership is Ownership.OURS
    assert verdict(node) is Ownership.FOREIGN


async def test_a_kind_that_is_not_enabled_is_refused_before_any_connection(tmp_path: Path) -> None:
    """explain of a kind not in VSYNCER_KINDS is a ConfigError naming the target; the
    kubeconfig's server (nothing listens there) is never dialled."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n")
    settings = Settings(
        vcluster_name="vc",
        host_namespace="host-ns",
        virtual_kubeconfig=kubeconfig,
        host_kubeconfig=kubeconfig,
        kinds=("pods",),
    )
    with pytest.raises(ConfigError) as caught:
        await explain(settings=settings, target=Target("services", "shop", "web"))
    assert caught.value.setting == "TARGET"
    assert "VSYNCER_KINDS" in caught.value.message


def test_the_json_report_carries_the_text_report_s_facts() -> None:
    """as_dict is JSON-ready and says what lines() says: owner, drift, differences, verdict."""
    drifted = Report(
        key=KEY,
        host_name="web-x-shop-x-vc",
        host_key=KEY,
        virtual_exists=True,
        verdict=Verdict(Ownership.OURS, "why"),
        drift="data",
        differences=(Difference("data.a", "1", "2"),),
        diff_known=True,
    )
    data = json.loads(json.dumps(drifted.as_dict()))
    assert data["virtual"] == "configmaps:shop/web"
    assert (data["owner"], data["drift"], data["verdict"], data["code"]) == (
        "ours",
        "data",
        "drifted",
        EXIT_DRIFTED,
    )
    assert data["differences"] == [
        {"path": "data.a", "want": "1", "have": "2", "onlyOnHost": False}
    ]
    assert drifted.lines()[-1] == f"verdict: {data['verdict']}"
