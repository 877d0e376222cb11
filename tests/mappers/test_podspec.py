"""Pod translation (virtual → host): dropped fields, metadata, running-pod updates, properties."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.podspec import (
    PodEnvironment,
    host_pod_update,
    translate_pod,
    updated_host_pod,
)
from syncer.api import (
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_UID_ANNOTATION,
    OWNER_REFERENCES_ANNOTATION,
    PODS,
)
from tests.mappers.fakes import T
from tests.mappers.podspec_support import ENV, Json, assert_row, h, v_pod

CASES: list[tuple[str, Json, PodEnvironment, Callable[[Json], object], object]] = [
    (
        "admission-computed fields are dropped",
        v_pod(priority=5, priorityClassName="hi", preemptionPolicy="Never", overhead={"cpu": "1"}),
        ENV,
        lambda s: sorted(
            set(s) & {"priority", "priorityClassName", "preemptionPolicy", "overhead"}
        ),
        [],
    ),
    (
        "ephemeral containers are not created with the pod",
        v_pod(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]),
        ENV,
        lambda s: "ephemeralContainers" in s,
        False,
    ),
]


@pytest.mark.parametrize(
    ("rule", "pod", "env", "read", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_spec_translation(
    rule: str, pod: Json, env: PodEnvironment, read: Callable[[Json], object], expected: object
) -> None:
    """Each pod rule, one row."""
    assert_row(rule, pod, env, read, expected)


def test_metadata_translation() -> None:
    """Name, labels (colliding renamed, namespace labels copied), provenance, owner references."""
    pod = v_pod()
    pod["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-1", "uid": "r"}]
    host = translate_pod(pod, translator=T, env=ENV)
    meta = host["metadata"]
    assert meta["name"] == h("web")
    assert meta["namespace"] == "host-ns"
    assert "ownerReferences" not in meta
    assert json.loads(meta["annotations"][OWNER_REFERENCES_ANNOTATION]) == [
        {"kind": "ReplicaSet", "name": "web-1", "uid": "r"}
    ]
    assert meta["labels"] == {
        "app": "web",
        T.translate_label_key("release"): "r1",
        T.namespace_label_key("team"): "blue",
        MANAGED_BY_LABEL: "vc",
        NAMESPACE_LABEL: "shop",
    }
    assert meta["annotations"]["note"] == "hi"
    assert meta["annotations"][OBJECT_UID_ANNOTATION] == "v-uid"
    assert T.is_owned(host, kind_string=PODS.kind_string)


def test_translation_does_not_touch_its_input() -> None:
    """The cached virtual pod is read-only: translation works on a copy."""
    pod = v_pod(
        volumes=[{"name": "a", "configMap": {"name": "cfg"}}], imagePullSecrets=[{"name": "r"}]
    )
    before = copy.deepcopy(pod)
    translate_pod(pod, translator=T, env=PodEnvironment(api_host="10.0.0.1"))
    assert pod == before


def test_running_pod_updates_only_what_kubernetes_allows() -> None:
    """Images, deadline, added tolerations, removed gates, metadata — nothing else."""
    old = translate_pod(
        v_pod(schedulingGates=[{"name": "g1"}, {"name": "g2"}]), translator=T, env=ENV
    )
    old["spec"]["nodeName"] = "node-1"
    old["metadata"]["labels"]["added-by-host"] = "yes"
    changed = v_pod(
        containers=[{"name": "main", "image": "app:2", "args": ["--new"]}],
        activeDeadlineSeconds=30,
        tolerations=[{"key": "k", "operator": "Exists"}],
        schedulingGates=[{"name": "g2"}],
    )
    changed["metadata"]["labels"]["app"] = "web2"
    desired = translate_pod(changed, translator=T, env=ENV, p_pod=old)
    new = updated_host_pod(old, desired)
    assert new["spec"]["containers"] == [{"name": "main", "image": "app:2"}]
    assert new["spec"]["activeDeadlineSeconds"] == 30
    assert new["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert new["spec"]["schedulingGates"] == [{"name": "g2"}]
    assert new["spec"]["nodeName"] == "node-1"
    assert new["metadata"]["labels"]["app"] == "web2"
    assert new["metadata"]["labels"]["added-by-host"] == "yes"


names = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,80}[a-z0-9])?", fullmatch=True)


@given(name=names, namespace=st.from_regex(r"[a-z]([a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True))
def test_every_translated_pod_is_ours_and_short(name: str, namespace: str) -> None:
    """Any pod name/namespace: the host pod's name fits 63 characters and it passes is_owned."""
    pod = v_pod()
    pod["metadata"].update({"name": name, "namespace": namespace})
    host = translate_pod(pod, translator=T, env=ENV)
    assert len(host["metadata"]["name"]) <= 63
    assert T.is_owned(host, kind_string=PODS.kind_string)
    assert T.virtual_key_from_host(host) == (namespace, name)
    assert len(host["spec"]["hostname"]) <= 63


def _host_variants() -> list[tuple[str, Callable[[Json], None]]]:
    def image(p: Json) -> None:
        p["spec"]["containers"][0]["image"] = "app:0"

    def deadline(p: Json) -> None:
        p["spec"]["activeDeadlineSeconds"] = 5

    def toleration(p: Json) -> None:
        p["spec"]["tolerations"] = []

    def gate(p: Json) -> None:
        p["spec"]["schedulingGates"] = [{"name": "g1"}, {"name": "g2"}]

    def label(p: Json) -> None:
        p["metadata"]["labels"]["app"] = "other"

    def annotation(p: Json) -> None:
        p["metadata"]["annotations"]["note"] = "changed"

    def host_only(p: Json) -> None:  # what the host decides is not ours to change
        p["spec"]["nodeName"] = "node-9"
        p["status"] = {"phase": "Running"}

    return [
        ("image", image),
        ("deadline", deadline),
        ("toleration", toleration),
        ("gate", gate),
        ("label", label),
        ("annotation", annotation),
        ("host-only", host_only),
    ]


@pytest.mark.parametrize(("name", "change"), _host_variants())
def test_host_pod_update_is_none_exactly_when_nothing_would_change(
    name: str, change: Callable[[Json], None]
) -> None:
    """The copy-free check agrees with the full update, with the virtual spec standing in."""
    virtual = v_pod(
        activeDeadlineSeconds=30,
        tolerations=[{"key": "k", "operator": "Exists"}],
        schedulingGates=[{"name": "g2"}],
    )
    host = translate_pod(virtual, translator=T, env=ENV)
    desired = {"metadata": host["metadata"], "spec": virtual["spec"]}
    assert host_pod_update(host, desired) is None
    changed = copy.deepcopy(host)
    change(changed)
    full = updated_host_pod(changed, desired)
    update = host_pod_update(changed, desired)
    if name == "host-only":
        assert update is None
        assert full == changed
    else:
        assert update is not None
        assert update == full != changed
