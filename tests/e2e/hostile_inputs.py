"""Support for the hostile-tenant suite: the objects a tenant (or a host admin) makes.

Plain builders of virtual objects, of foreign host objects in the way, and of
the spoofed labels and annotations a tenant puts on its objects to pose as
another object's copy.  Pure: nothing here talks to a cluster.
"""

from __future__ import annotations

import base64
from typing import Any

from syncer.translate import (
    CONTROLLED_BY_LABEL,
    MANAGED_ANNOTATIONS_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_LABELS_ANNOTATION,
    NAMESPACE_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_HOST_NAMESPACE_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    OWNER_REFERENCES_ANNOTATION,
    Translator,
)

Json = dict[str, Any]
#: Annotations of vsyncer's own bookkeeping a tenant may try to plant.
VSYNCER_ANNOTATIONS = (
    "vsyncer.dev/synced-metadata",
    "vsyncer.dev/recreate-virtual",
    "vsyncer.dev/token-refresh-after",
    "vsyncer.dev/annotations",
)


def configmap(name: str, *, data: dict[str, str] | None = None, **meta: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **meta},
        "data": data if data is not None else {"owner": name},
    }


def secret(name: str, *, value: str = "s3cret", **meta: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, **meta},
        "data": {"value": base64.b64encode(value.encode()).decode()},
    }


def service(name: str, *, selector: dict[str, str] | None = None, **meta: Any) -> Json:
    spec: Json = {"ports": [{"name": "http", "port": 80}]}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta}, "spec": spec}


def claim(name: str, **spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "",
            **spec,
        },
    }


def reader(name: str, *, configmaps: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> Json:
    """A virtual pod mounting ``configmaps`` and ``secrets``."""
    volumes = [{"name": f"c{i}", "configMap": {"name": c}} for i, c in enumerate(configmaps)]
    volumes += [{"name": f"s{i}", "secret": {"secretName": s}} for i, s in enumerate(secrets)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "containers": [{"name": "main", "image": "registry.example/app:1"}],
            "volumes": volumes,
        },
    }


def gated_pod(name: str, **meta: Any) -> Json:
    """A foreign host pod no scheduler or kubelet will ever write (it is scheduling-gated)."""
    body = reader(name)
    body["metadata"].update(meta)
    body["spec"]["schedulingGates"] = [{"name": "example.com/hold"}]
    return body


def other_vclusters_copy(
    body: Json, *, kind_string: str, v_namespace: str, v_name: str, p_name: str
) -> Json:
    """``body`` marked as vcluster ``other``'s copy of ``v_namespace/v_name``: its provenance
    re-translates to ``p_name`` under *this* vcluster's rules; only the marker differs."""
    body["metadata"]["labels"] = {MANAGED_BY_LABEL: "other", NAMESPACE_LABEL: v_namespace}
    body["metadata"]["annotations"] = {
        OBJECT_NAME_ANNOTATION: v_name,
        OBJECT_NAMESPACE_ANNOTATION: v_namespace,
        OBJECT_UID_ANNOTATION: "00000000-0000-0000-0000-000000000000",
        OBJECT_KIND_ANNOTATION: kind_string,
        OBJECT_HOST_NAME_ANNOTATION: p_name,
    }
    return body


def spoofed_labels(t: Translator, *, victim_namespace: str, namespace_label: str) -> dict[str, str]:
    """Labels posing as the markers of ``victim_namespace`` and as a namespace-label copy."""
    return {
        MANAGED_BY_LABEL: t.vcluster,
        NAMESPACE_LABEL: victim_namespace,
        CONTROLLED_BY_LABEL: "vsyncer",
        "release": "spoof",
        t.namespace_label_key(namespace_label): "spoofed",
        "vsyncer.dev/service-account-token": "true",
    }


def spoofed_annotations(
    *, kind_string: str, victim: Json, target: str, elsewhere: str
) -> dict[str, str]:
    """Provenance of the existing host copy ``victim`` (its virtual name, namespace and UID),
    a host name ``target`` and namespace ``elsewhere`` to write to, and vsyncer's bookkeeping."""
    annotations = dict(victim["metadata"]["annotations"])
    spoof = {
        OBJECT_NAME_ANNOTATION: annotations[OBJECT_NAME_ANNOTATION],
        OBJECT_NAMESPACE_ANNOTATION: annotations[OBJECT_NAMESPACE_ANNOTATION],
        OBJECT_UID_ANNOTATION: annotations[OBJECT_UID_ANNOTATION],
        OBJECT_KIND_ANNOTATION: kind_string,
        OBJECT_HOST_NAME_ANNOTATION: target,
        OBJECT_HOST_NAMESPACE_ANNOTATION: elsewhere,
        MANAGED_LABELS_ANNOTATION: "app\nowner",
        MANAGED_ANNOTATIONS_ANNOTATION: "a\nb",
        OWNER_REFERENCES_ANNOTATION: '[{"kind":"Node","name":"n","uid":"u","apiVersion":"v1"}]',
        "vcluster.loft.sh/service-account-name": "kube-system-admin",
    }
    spoof.update(dict.fromkeys(VSYNCER_ANNOTATIONS, "spoofed"))
    return spoof
