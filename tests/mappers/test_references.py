"""What a pod refers to, as the configmaps/secrets/nodes mappers see it through the pods indexes."""

from __future__ import annotations

import copy
from typing import Any

from mappers.references import (
    REFUSED,
    PodReferenceIndexes,
    PodReferences,
    index_configmaps,
    index_node,
    index_pvcs,
    index_secrets,
    pod_references,
    spec_sites,
)

POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "shop"},
    "spec": {
        "nodeName": "n1",
        "volumes": [
            {"name": "a", "configMap": {"name": "cm-vol"}},
            {"name": "b", "secret": {"secretName": "s-vol"}},
            {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "d", "csi": {"driver": "x", "nodePublishSecretRef": {"name": "s-csi"}}},
            {
                "name": "e",
                "projected": {
                    "sources": [
                        {"configMap": {"name": "cm-proj"}},
                        {"secret": {"name": "s-proj"}},
                        {"configMap": {"name": "kube-root-ca.crt"}},
                        {"serviceAccountToken": {"path": "token"}},
                    ]
                },
            },
        ],
        "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
        "containers": [
            {
                "name": "m",
                "env": [
                    {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "k"}}},
                    {"name": "C", "value": "plain"},
                ],
                "envFrom": [{"secretRef": {"name": "s-from"}}],
            }
        ],
        "ephemeralContainers": [{"name": "dbg", "envFrom": [{"secretRef": {"name": "s-eph"}}]}],
        "imagePullSecrets": [{"name": "s-pull"}],
    },
}


def test_every_kind_of_reference_is_found() -> None:
    """Volumes, projections, CSI, env, envFrom (all container kinds) and image pull secrets."""
    assert pod_references(POD) == PodReferences(
        configmaps=frozenset({"cm-vol", "cm-proj", "cm-init", "cm-env"}),
        secrets=frozenset({"s-vol", "s-csi", "s-proj", "s-env", "s-from", "s-eph", "s-pull"}),
        pvcs=frozenset({"data"}),
    )


def test_index_values_are_namespaced_and_skip_the_root_ca() -> None:
    """Index values are ``ns/name``; kube-root-ca.crt is never indexed (never synced)."""
    assert "shop/cm-vol" in index_configmaps(POD)
    assert not any(v.endswith("kube-root-ca.crt") for v in index_configmaps(POD))
    assert "shop/s-pull" in index_secrets(POD)
    assert index_pvcs(POD) == ["shop/data"]
    assert index_node(POD) == ["n1"]
    assert index_node({"metadata": {"name": "x"}, "spec": {}}) == []


def test_malformed_pods_refer_to_nothing() -> None:
    """Missing or odd fields are read as empty, never raise."""
    odd = {"metadata": {"name": "x"}, "spec": {"volumes": None, "containers": [{"env": None}]}}
    assert pod_references(odd) == PodReferences(frozenset(), frozenset(), frozenset())


def test_shared_walk_indexes_equal_the_plain_index_functions() -> None:
    """One walk per object serves all three indexes; each object gets its own answer."""
    shared = PodReferenceIndexes()
    other = {"metadata": {"name": "q", "namespace": "shop"}, "spec": {"volumes": []}}
    for pod in (POD, other, POD, copy.deepcopy(POD)):
        assert shared.configmaps(pod) == index_configmaps(pod)
        assert shared.secrets(pod) == index_secrets(pod)
        assert shared.pvcs(pod) == index_pvcs(pod)
    changed = copy.deepcopy(POD)
    changed["spec"]["volumes"] = []
    assert shared.pvcs(POD) == ["shop/data"]
    assert shared.pvcs(changed) == []


def test_every_secret_naming_volume_source_is_a_reference() -> None:
    """flexVolume, azureFile, the secretRef sources and cloned claims are indexed too."""
    volumes: list[dict[str, Any]] = [
        {"name": "f", "flexVolume": {"driver": "d", "secretRef": {"name": "s-flex"}}},
        {"name": "a", "azureFile": {"secretName": "s-azure", "shareName": "x"}},
        *[
            {"name": key, key: {"secretRef": {"name": f"s-{key}"}}}
            for key in ("cephfs", "rbd", "iscsi", "scaleIO", "storageos", "cinder")
        ],
        {
            "name": "e",
            "ephemeral": {
                "volumeClaimTemplate": {
                    "spec": {"dataSource": {"kind": "PersistentVolumeClaim", "name": "origin"}}
                }
            },
        },
    ]
    refs = pod_references({"metadata": {"namespace": "shop"}, "spec": {"volumes": volumes}})
    assert refs.secrets == {
        "s-flex",
        "s-azure",
        *(f"s-{k}" for k in ("cephfs", "rbd", "iscsi", "scaleIO", "storageos", "cinder")),
    }
    assert refs.pvcs == {"origin"}


def field(path: str) -> dict[str, str]:
    return {"fieldPath": path}


def test_refused_sites_name_nothing_and_field_paths_are_listed() -> None:
    """A refused source adds no reference; every fieldRef path the pod reads is listed."""
    spec = {
        "volumes": [
            {"name": "g", "glusterfs": {"endpoints": "host-endpoints", "path": "p"}},
            {"name": "u", "futureSource": {"secretName": "s-future"}},
            {
                "name": "d",
                "downwardAPI": {
                    "items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]
                },
            },
        ],
        "containers": [
            {
                "name": "m",
                "env": [
                    {
                        "name": "A",
                        "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}},
                    },
                    {"name": "B", "valueFrom": {"futureRef": {"name": "s-env"}}},
                ],
            }
        ],
    }
    refs = pod_references({"metadata": {"namespace": "shop"}, "spec": spec})
    assert refs == PodReferences(
        frozenset(),
        frozenset(),
        frozenset(),
        frozenset({"metadata.labels", "spec.serviceAccountName"}),
    )
    refused = [site for site in spec_sites(spec) if site.kind == REFUSED]
    assert [(s.reason, s.path) for s in refused] == [
        ("volume_source", "spec.volumes[0].glusterfs"),
        ("volume_source", "spec.volumes[1].futureSource"),
        ("env_source", "spec.containers[0].env[1].valueFrom.futureRef"),
    ]
