"""The downward API of a host pod shows the virtual values: one row per field path."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.downward import (
    ANNOTATIONS_ANNOTATION,
    LABELS_ANNOTATION,
    SERVICE_ACCOUNT_NAME_ANNOTATION,
    format_map,
    go_quote,
    split_subscript,
)
from mappers.podspec import PodEnvironment, host_pod_metadata, translate_pod
from syncer.api import (
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    Refused,
)
from tests.mappers.fakes import T

Json = dict[str, Any]
ENV = PodEnvironment()


def annotation(key: str) -> str:
    return f"metadata.annotations['{key}']"


#: (virtual field path, host field path) — ``None``: refused.
FIELD_PATHS: list[tuple[str, str | None]] = [
    ("metadata.name", annotation(OBJECT_NAME_ANNOTATION)),
    ("metadata.namespace", annotation(OBJECT_NAMESPACE_ANNOTATION)),
    ("metadata.uid", annotation(OBJECT_UID_ANNOTATION)),
    ("metadata.labels", annotation(LABELS_ANNOTATION)),
    ("metadata.annotations", annotation(ANNOTATIONS_ANNOTATION)),
    ("spec.serviceAccountName", annotation(SERVICE_ACCOUNT_NAME_ANNOTATION)),
    ("spec.nodeName", "spec.nodeName"),
    ("spec.host", "spec.host"),
    ("status.hostIP", "status.hostIP"),
    ("status.hostIPs", "status.hostIPs"),
    ("status.podIP", "status.podIP"),
    ("status.podIPs", "status.podIPs"),
    ("metadata.labels['app']", "metadata.labels['app']"),
    ("metadata.labels['release']", f"metadata.labels['{T.translate_label_key('release')}']"),
    (
        "metadata.labels['vcluster.loft.sh/namespace']",
        f"metadata.labels['{T.translate_label_key('vcluster.loft.sh/namespace')}']",
    ),
    ("metadata.annotations['note']", "metadata.annotations['note']"),
    ("metadata.annotations['vcluster.loft.sh/object-name']", None),
    ("metadata.annotations['vsyncer.dev/annotations']", None),
    ("spec.restartPolicy", None),
    ("status.phase", None),
    ("metadata.generation", None),
    ("spec.nodeName['x']", None),
]


def v_pod(**spec: Any) -> Json:
    return {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u",
            "labels": {"app": "web", "release": "r1"},
            "annotations": {"note": 'say "hi"\n', "vcluster.loft.sh/x": "tenant"},
        },
        "spec": {"serviceAccountName": "builder", **spec},
    }


def in_env(path: str) -> Json:
    env = [{"name": "F", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}]
    return v_pod(containers=[{"name": "main", "image": "i", "env": env}])


def in_volume(path: str) -> Json:
    items = [{"path": "f", "fieldRef": {"fieldPath": path}}]
    return v_pod(containers=[], volumes=[{"name": "d", "downwardAPI": {"items": items}}])


def in_projection(path: str) -> Json:
    items = [{"path": "f", "fieldRef": {"fieldPath": path}}]
    sources = [{"downwardAPI": {"items": items}}]
    return v_pod(containers=[], volumes=[{"name": "d", "projected": {"sources": sources}}])


def host_path(body: Json) -> str:
    spec = translate_pod(body, translator=T, env=ENV)["spec"]
    if spec.get("containers"):
        return str(spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["fieldPath"])
    volume = spec["volumes"][0]
    items = (
        volume["downwardAPI"]["items"]
        if "downwardAPI" in volume
        else volume["projected"]["sources"][0]["downwardAPI"]["items"]
    )
    return str(items[0]["fieldRef"]["fieldPath"])


@pytest.mark.parametrize("where", [in_env, in_volume, in_projection])
@pytest.mark.parametrize(("path", "expected"), FIELD_PATHS, ids=[r[0] for r in FIELD_PATHS])
def test_every_field_path(path: str, expected: str | None, where: Any) -> None:
    """Rewritten to read the virtual value, kept when equal, refused without an equivalent."""
    body = where(path)
    if expected is None:
        with pytest.raises(Refused) as caught:
            translate_pod(body, translator=T, env=ENV)
        assert caught.value.reason == "downward_api"
        assert ".fieldRef.fieldPath: " in caught.value.message
    else:
        assert host_path(body) == expected


def test_carried_annotations_hold_the_virtual_values_as_the_kubelet_formats_them() -> None:
    """Service account, labels and annotations of the virtual pod; only when read."""
    body = in_volume("metadata.labels")
    body["spec"]["volumes"][0]["downwardAPI"]["items"] += [
        {"path": "a", "fieldRef": {"fieldPath": "metadata.annotations"}},
    ]
    body["spec"]["containers"] = in_env("spec.serviceAccountName")["spec"]["containers"]
    annotations = host_pod_metadata(body, translator=T, env=ENV)["annotations"]
    assert annotations[SERVICE_ACCOUNT_NAME_ANNOTATION] == "builder"
    assert annotations[LABELS_ANNOTATION] == 'app="web"\nrelease="r1"'
    assert annotations[ANNOTATIONS_ANNOTATION] == (
        'note="say \\"hi\\"\\n"\nvcluster.loft.sh/x="tenant"'
    )
    plain = host_pod_metadata(in_env("metadata.name"), translator=T, env=ENV)["annotations"]
    assert not {SERVICE_ACCOUNT_NAME_ANNOTATION, LABELS_ANNOTATION, ANNOTATIONS_ANNOTATION} & set(
        plain
    )


def test_the_labels_annotation_follows_the_virtual_labels() -> None:
    """Recomputed with the host metadata: a label change on the virtual pod updates it."""
    body = in_volume("metadata.labels")
    before = translate_pod(body, translator=T, env=ENV)
    body["metadata"]["labels"]["app"] = "web2"
    after = host_pod_metadata(body, translator=T, env=ENV, p_pod=before)
    assert after["annotations"][LABELS_ANNOTATION] == 'app="web2"\nrelease="r1"'


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
        ("\x00\x1f\x7f", '"\\x00\\x1f\\x7f"'),
        ("héllo ✓ 日本", '"héllo ✓ 日本"'),
        ("\u00a0\u200b\u2028", '"\\u00a0\\u200b\\u2028"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("\ud800", '"\ufffd"'),
    ],
)
def test_go_quote_matches_strconv_quote(value: str, quoted: str) -> None:
    """Go's strconv.Quote: its escapes, \\x for C0/DEL, \\u/\\U for other non-printables."""
    assert go_quote(value) == quoted


def test_format_map_and_subscripts() -> None:
    """Sorted ``key="value"`` lines, no trailing newline; the kubelet's subscript split."""
    assert format_map({"b": "2", "a": "1"}) == 'a="1"\nb="2"'
    assert format_map({}) == ""
    assert split_subscript("metadata.labels['a[b]c']") == ("metadata.labels", "a[b]c")
    assert split_subscript("metadata.labels") is None
    assert split_subscript("['x']") is None
