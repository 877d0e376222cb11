"""Host-side label and annotation changes flow up: the three-way merge of pod metadata."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.metamerge import (
    SYNCED_METADATA_ANNOTATION,
    annotation_flows,
    label_flows,
    merge_pod_metadata,
    synced_record,
)
from mappers.pods import PodMapper
from mappers.podspec import PodEnvironment, translate_pod
from syncer.api import MANAGED_BY_LABEL, MANAGED_LABELS_ANNOTATION, OBJECT_NAME_ANNOTATION
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
ENV = PodEnvironment(namespace_labels={"team": "blue"})
P_NAME = T.host_name("shop", "web")


def v_pod(labels: dict[str, str], annotations: dict[str, str] | None = None) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "v-uid",
            "resourceVersion": "7",
            "labels": dict(labels),
            "annotations": dict(annotations or {}),
        },
        "spec": {"nodeName": "n1", "containers": [{"name": "main", "image": "app:1"}]},
        "status": {"phase": "Running", "qosClass": "BestEffort"},
    }


def p_pod(
    *,
    last: dict[str, str],
    host: dict[str, str],
    last_annotations: dict[str, str] | None = None,
    host_annotations: dict[str, str] | None = None,
) -> Json:
    """A host pod synced when virtual had ``last`` and since changed on the host to ``host``."""
    pod = translate_pod(v_pod(host, host_annotations), translator=T, env=ENV)
    record = synced_record(v_pod(last, last_annotations))
    pod["metadata"]["annotations"][SYNCED_METADATA_ANNOTATION] = record
    pod["metadata"].update({"uid": "p-uid", "resourceVersion": "3"})
    pod["spec"]["nodeName"] = "n1"
    pod["status"] = {"phase": "Running", "qosClass": "BestEffort"}
    return pod


LABEL_CASES: list[tuple[str, Json, Json, Json, Json]] = [
    # (description, last, virtual, host, merged)
    ("host adds a label", {"a": "1"}, {"a": "1"}, {"a": "1", "b": "2"}, {"a": "1", "b": "2"}),
    ("host changes a label", {"a": "1"}, {"a": "1"}, {"a": "9"}, {"a": "9"}),
    ("host removes a label", {"a": "1", "b": "2"}, {"a": "1", "b": "2"}, {"a": "1"}, {"a": "1"}),
    ("virtual changes a label", {"a": "1"}, {"a": "2"}, {"a": "1"}, {"a": "2"}),
    ("both change: virtual wins", {"a": "1"}, {"a": "2"}, {"a": "3"}, {"a": "2"}),
    ("virtual removes, host changes: removed", {"a": "1"}, {}, {"a": "3"}, {}),
    ("both add differently: virtual wins", {}, {"a": "v"}, {"a": "h"}, {"a": "v"}),
    (
        "a renamed colliding key flows up under its own name",
        {"release": "r1"},
        {"release": "r1"},
        {"release": "r2"},
        {"release": "r2"},
    ),
]


@pytest.mark.parametrize(
    ("last", "virtual", "host", "merged"),
    [case[1:] for case in LABEL_CASES],
    ids=[case[0] for case in LABEL_CASES],
)
def test_label_merge_table(last: Json, virtual: Json, host: Json, merged: Json) -> None:
    """One side's change is taken; a true conflict goes to the virtual side."""
    result = merge_pod_metadata(T, v_pod(virtual), p_pod(last=last, host=host))
    assert result.labels == merged


def test_the_syncers_own_keys_never_flow_up() -> None:
    """Marker, namespace-label and other vcluster.loft.sh keys stay on the host."""
    p = p_pod(last={"a": "1"}, host={"a": "1"})
    p["metadata"]["labels"].update({"vcluster.loft.sh/other": "x", "release": "host-own"})
    p["metadata"]["annotations"]["vcluster.loft.sh/other"] = "x"
    result = merge_pod_metadata(T, v_pod({"a": "1"}), p)
    assert result.labels == {"a": "1"}
    assert result.annotations == {}
    assert MANAGED_BY_LABEL in p["metadata"]["labels"]
    assert OBJECT_NAME_ANNOTATION in p["metadata"]["annotations"]


def test_annotations_merge_like_labels() -> None:
    """A host annotation flows up; a virtual change wins a conflict."""
    p = p_pod(
        last={},
        host={},
        last_annotations={"note": "a", "keep": "k"},
        host_annotations={"note": "h", "keep": "k", "added": "x"},
    )
    result = merge_pod_metadata(T, v_pod({}, {"note": "v", "keep": "k"}), p)
    assert result.annotations == {"note": "v", "keep": "k", "added": "x"}


@pytest.mark.parametrize("record", [None, "not json", json.dumps({"labels": []})])
def test_without_a_record_managed_keys_go_to_virtual_and_others_flow_up(
    record: str | None,
) -> None:
    """Fallback on the managed-keys bookkeeping (host pods made before the record existed)."""
    p = p_pod(last={}, host={"a": "host", "release": "r-host"})
    if record is None:
        del p["metadata"]["annotations"][SYNCED_METADATA_ANNOTATION]
    else:
        p["metadata"]["annotations"][SYNCED_METADATA_ANNOTATION] = record
    managed = p["metadata"]["annotations"][MANAGED_LABELS_ANNOTATION].split("\n")
    p["metadata"]["annotations"][MANAGED_LABELS_ANNOTATION] = "\n".join(
        k for k in managed if k != "a"
    )
    result = merge_pod_metadata(T, v_pod({"release": "r-virtual"}), p)
    assert result.labels == {"release": "r-virtual", "a": "host"}


KEYS = st.sampled_from(["a", "b", "app", "release", "vcluster.loft.sh/namespace", "x.io/y"])
MAPS = st.dictionaries(KEYS, st.sampled_from(["1", "2", "3"]), max_size=6)


@given(last=MAPS, virtual=MAPS, host=MAPS)
def test_virtual_wins_conflicts_and_host_changes_survive(
    last: dict[str, str], virtual: dict[str, str], host: dict[str, str]
) -> None:
    """Property: a key virtual changed has its virtual state; any other has the host's."""
    p = p_pod(last=last, host=host, last_annotations=last, host_annotations=host)
    result = merge_pod_metadata(T, v_pod(virtual, virtual), p)
    for merged, flows in ((result.labels, label_flows), (result.annotations, annotation_flows)):
        for key in last.keys() | virtual.keys() | host.keys():
            if not flows(key):  # the syncer's own annotation keys: copied down only
                assert merged.get(key) == virtual.get(key)
                continue
            expected = virtual.get(key) if virtual.get(key) != last.get(key) else host.get(key)
            assert merged.get(key) == expected
    # Once both sides carry the merge (and its record), merging again changes nothing.
    settled = v_pod(result.labels, result.annotations)
    p_after = translate_pod(settled, translator=T, env=ENV, p_pod=p)
    again = merge_pod_metadata(T, settled, p_after)
    assert (again.labels, again.annotations) == (result.labels, result.annotations)


async def test_sync_writes_the_merge_to_virtual_first_then_the_host() -> None:
    """A label added on the host: virtual updated, then the host pod (with a fresh record)."""
    p = p_pod(last={"app": "web"}, host={"app": "web", "added": "yes"})
    v = v_pod({"app": "web"})
    fake = Fake(virtual={"pods": [v]}, host={"pods": [p]})
    await PodMapper(translator=T).sync(fake.ctx, v, p)
    assert fake.calls == [("virtual", "update", "web"), ("host", "update", P_NAME)]
    assert fake.virtual.bodies[0]["metadata"]["labels"] == {"app": "web", "added": "yes"}
    record = json.loads(fake.host.updated[0]["metadata"]["annotations"][SYNCED_METADATA_ANNOTATION])
    assert set(record["labels"]) == {"app", "added"}


async def test_sync_without_host_changes_writes_nothing_up() -> None:
    """Nothing changed on the host: no virtual metadata write."""
    v = v_pod({"app": "web"}, {"note": "n"})
    p = p_pod(last={"app": "web"}, host={"app": "web"}, last_annotations={"note": "n"})
    p["metadata"]["annotations"]["note"] = "n"
    fake = Fake(virtual={"pods": [v]}, host={"pods": [p]})
    await PodMapper(translator=T).sync(fake.ctx, v, p)
    assert not [c for c in fake.calls if c[0] == "virtual"]


@pytest.mark.parametrize("key", ["vsyncer.dev/service-account-name", "vcluster.loft.sh/x"])
def test_keys_in_the_syncers_key_space_never_flow_up(key: str) -> None:
    """Annotations vsyncer puts on host pods stay there; a tenant's such keys never merge."""
    assert not annotation_flows(key)
    assert not label_flows(key)
