"""Pod translation of everything that can name an object: one row per source, hostile inputs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.podspec import PodEnvironment, translate_pod
from mappers.references import (
    NAMED_VOLUME_SOURCES,
    PLAIN_VOLUME_SOURCES,
    ROOT_CA_CONFIGMAP,
    pod_references,
)
from syncer.api import Refused
from tests.mappers.fakes import T

Json = dict[str, Any]
ENV = PodEnvironment()


def pod(**spec: Any) -> Json:
    body: Json = {"metadata": {"name": "web", "namespace": "shop", "uid": "u"}}
    body["spec"] = {"containers": [{"name": "main", "image": "app:1"}], **spec}
    return body


def h(name: str) -> str:
    return T.host_name("shop", name)


def volume_source(key: str, value: Json) -> Json:
    return pod(volumes=[{"name": "v", key: value}])


def translated_volume(body: Json) -> Json:
    volume = dict(translate_pod(body, translator=T, env=ENV)["spec"]["volumes"][0])
    volume.pop("name")
    return volume


# -- every volume source of core/v1 (Kubernetes v1.36) --------------------------------------


RO = {"readOnly": True}


def claim(field: str, name: str, **ref: str) -> Json:
    """An ephemeral volume source whose claim template clones claim ``name``."""
    source = {"kind": "PersistentVolumeClaim", "name": name, **ref}
    return {"volumeClaimTemplate": {"spec": {field: source}}}


#: (source key, the source before, the source after) for sources that name an object.
NAMED_ROWS: list[tuple[str, Json, Json]] = [
    ("secret", {"secretName": "s"}, {"secretName": h("s")}),
    ("configMap", {"name": "c"}, {"name": h("c")}),
    ("configMap", {"name": ROOT_CA_CONFIGMAP}, {"name": ROOT_CA_CONFIGMAP}),
    ("persistentVolumeClaim", {"claimName": "p"}, {"claimName": h("p")}),
    (
        "csi",
        {"driver": "d", "nodePublishSecretRef": {"name": "s"}},
        {"driver": "d", "nodePublishSecretRef": {"name": h("s")}},
    ),
    (
        "flexVolume",
        {"driver": "d", "secretRef": {"name": "s"}},
        {"driver": "d", "secretRef": {"name": h("s")}},
    ),
    (
        "azureFile",
        {"secretName": "s", "shareName": "x"},
        {"secretName": h("s"), "shareName": "x"},
    ),
    *[
        (key, {"secretRef": {"name": "s"}, **RO}, {"secretRef": {"name": h("s")}, **RO})
        for key in ("cephfs", "rbd", "iscsi", "scaleIO", "storageos", "cinder")
    ],
    ("ephemeral", claim("dataSource", "p"), claim("dataSource", h("p"))),
    ("ephemeral", claim("dataSourceRef", "p"), claim("dataSourceRef", h("p"))),
    (
        "ephemeral",
        {"volumeClaimTemplate": {"spec": {"storageClassName": "fast", "resources": {}}}},
        {"volumeClaimTemplate": {"spec": {"storageClassName": "fast", "resources": {}}}},
    ),
]  # fmt: skip

#: Sources that name no object: passed as they are.
PLAIN_ROWS: list[tuple[str, Json]] = [
    ("emptyDir", {"medium": "Memory"}),
    ("hostPath", {"path": "/data"}),
    ("image", {"reference": "registry/artifact:1", "pullPolicy": "IfNotPresent"}),
    ("nfs", {"server": "nfs", "path": "/"}),
    ("gitRepo", {"repository": "https://example.invalid/r.git"}),
    ("awsElasticBlockStore", {"volumeID": "vol-1"}),
    ("gcePersistentDisk", {"pdName": "disk"}),
    ("azureDisk", {"diskName": "d", "diskURI": "uri"}),
    ("fc", {"wwids": ["w"]}),
    ("flocker", {"datasetName": "d"}),
    ("photonPersistentDisk", {"pdID": "p"}),
    ("portworxVolume", {"volumeID": "v"}),
    ("quobyte", {"registry": "r", "volume": "v"}),
    ("vsphereVolume", {"volumePath": "/p"}),
]

#: (source key, the source, the refusal reason, the refused field's path).
REFUSED_ROWS: list[tuple[str, Json, str, str]] = [
    ("glusterfs", {"endpoints": "ep", "path": "p"}, "volume_source", "spec.volumes[0].glusterfs"),
    ("futureSource", {"name": "x"}, "volume_source", "spec.volumes[0].futureSource"),
    (
        "ephemeral",
        {"volumeClaimTemplate": {"spec": {"volumeName": "pv-of-someone"}}},
        "volume_source",
        "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.volumeName",
    ),
    (
        "ephemeral",
        {
            "volumeClaimTemplate": {
                "spec": {
                    "dataSourceRef": {
                        "kind": "PersistentVolumeClaim",
                        "name": "p",
                        "namespace": "other",
                    }
                }
            }
        },
        "volume_source",
        "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.dataSourceRef",
    ),
    (
        "ephemeral",
        {
            "volumeClaimTemplate": {
                "spec": {
                    "dataSource": {
                        "apiGroup": "snapshot.storage.k8s.io",
                        "kind": "VolumeSnapshot",
                        "name": "snap",
                    }
                }
            }
        },
        "volume_source",
        "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.dataSource",
    ),
    (
        "projected",
        {"sources": [{"clusterTrustBundle": {"signerName": "x", "path": "ca"}}]},
        "volume_source",
        "spec.volumes[0].projected.sources[0].clusterTrustBundle",
    ),
    (
        "projected",
        {"sources": [{"podCertificate": {"signerName": "x", "keyType": "ED25519"}}]},
        "volume_source",
        "spec.volumes[0].projected.sources[0].podCertificate",
    ),
    (
        "projected",
        {"sources": [{"secret": {"name": "s"}}, {"futureProjection": {}}]},
        "volume_source",
        "spec.volumes[0].projected.sources[1].futureProjection",
    ),
]


@pytest.mark.parametrize(("key", "before", "after"), NAMED_ROWS, ids=[r[0] for r in NAMED_ROWS])
def test_named_volume_sources_are_renamed(key: str, before: Json, after: Json) -> None:
    """A source naming a secret, configmap or PVC names its host copy in the same namespace."""
    assert translated_volume(volume_source(key, before)) == {key: after}


@pytest.mark.parametrize(("key", "source"), PLAIN_ROWS, ids=[r[0] for r in PLAIN_ROWS])
def test_sources_naming_nothing_pass(key: str, source: Json) -> None:
    """A source that names no object is copied as it is (Pod Security judges it)."""
    assert translated_volume(volume_source(key, source)) == {key: source}


@pytest.mark.parametrize(
    ("key", "source", "reason", "path"), REFUSED_ROWS, ids=[r[3] for r in REFUSED_ROWS]
)
def test_sources_reading_host_state_or_unknown_are_refused(
    key: str, source: Json, reason: str, path: str
) -> None:
    """Refused, naming the field; only a change of the pod can lift it."""
    with pytest.raises(Refused) as caught:
        translate_pod(volume_source(key, source), translator=T, env=ENV)
    assert caught.value.reason == reason
    assert caught.value.message.startswith(f"{path}: ")
    assert caught.value.retry_after is None


def test_the_tables_cover_every_v1_36_volume_source() -> None:
    """Every VolumeSource field of core/v1 in Kubernetes v1.36 has a row above."""
    v1_36 = {
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap", "csi",
        "downwardAPI", "emptyDir", "ephemeral", "fc", "flexVolume", "flocker",
        "gcePersistentDisk", "gitRepo", "glusterfs", "hostPath", "image", "iscsi", "nfs",
        "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume", "projected",
        "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
    }  # fmt: skip
    covered = {r[0] for r in NAMED_ROWS} | {r[0] for r in PLAIN_ROWS} | {r[0] for r in REFUSED_ROWS}
    covered |= {"downwardAPI"}  # tests/mappers/test_podspec_downward.py
    assert v1_36 <= covered
    assert set(NAMED_VOLUME_SOURCES) | PLAIN_VOLUME_SOURCES < v1_36


def test_projected_sources_are_renamed_one_by_one() -> None:
    """Projected secret and configmap sources are renamed; kube-root-ca.crt stays."""
    sources = [
        {"secret": {"name": "s", "items": [{"key": "k", "path": "p"}]}},
        {"configMap": {"name": "c"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP}},
    ]
    after = translated_volume(volume_source("projected", {"sources": sources}))
    assert after["projected"]["sources"] == [
        {"secret": {"name": h("s"), "items": [{"key": "k", "path": "p"}]}},
        {"configMap": {"name": h("c")}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP}},
    ]


# -- containers -------------------------------------------------------------------------------


def with_env(*env: Json, env_from: list[Json] | None = None) -> Json:
    container: Json = {"name": "main", "image": "app:1", "env": list(env)}
    if env_from is not None:
        container["envFrom"] = env_from
    return pod(initContainers=[dict(container, name="init")], containers=[container])


def test_env_sources_are_renamed_in_every_container() -> None:
    """configMapKeyRef, secretKeyRef, configMapRef, secretRef; the rest as it is."""
    body = with_env(
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "D", "valueFrom": {"fileKeyRef": {"volumeName": "v", "path": "p", "key": "k"}}},
        env_from=[{"configMapRef": {"name": "c2"}, "prefix": "X_"}, {"secretRef": {"name": "s2"}}],
    )
    spec = translate_pod(body, translator=T, env=ENV)["spec"]
    for container in (spec["initContainers"][0], spec["containers"][0]):
        env = [var["valueFrom"] for var in container["env"]]
        assert env[0]["configMapKeyRef"]["name"] == h("c")
        assert env[1]["secretKeyRef"]["name"] == h("s")
        assert env[2] == {"resourceFieldRef": {"resource": "limits.cpu"}}
        assert env[3] == {"fileKeyRef": {"volumeName": "v", "path": "p", "key": "k"}}
        assert container["envFrom"] == [
            {"configMapRef": {"name": h("c2")}, "prefix": "X_"},
            {"secretRef": {"name": h("s2")}},
        ]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (with_env({"name": "A", "valueFrom": {"hostSecretRef": {"name": "x"}}}),
         "spec.initContainers[0].env[0].valueFrom.hostSecretRef"),
        (with_env(env_from=[{"serviceAccountRef": {"name": "x"}}]),
         "spec.initContainers[0].envFrom[0].serviceAccountRef"),
    ],
    ids=["valueFrom", "envFrom"],
)  # fmt: skip
def test_unknown_env_sources_are_refused(body: Json, path: str) -> None:
    """A future env source could name an object: refused, naming it."""
    with pytest.raises(Refused) as caught:
        translate_pod(body, translator=T, env=ENV)
    assert caught.value.reason == "env_source"
    assert caught.value.message.startswith(f"{path}: ")


def test_resource_claims_are_refused() -> None:
    """A ResourceClaim would be the host namespace's (vsyncer syncs none)."""
    body = pod(resourceClaims=[{"name": "gpu", "resourceClaimName": "someone-elses"}])
    with pytest.raises(Refused) as caught:
        translate_pod(body, translator=T, env=ENV)
    assert caught.value.reason == "resource_claim"
    assert caught.value.message.startswith("spec.resourceClaims[0]: ")


# -- the property: the host pod names only what the index lists --------------------------------

NAME = st.sampled_from(["a", "b", "a-x-b", "kube-root-ca.crt", "long-" * 12 + "z"])


def _named_sources(name: st.SearchStrategy[str]) -> st.SearchStrategy[Json]:
    rows = [(key, path) for key, (_, path) in NAMED_VOLUME_SOURCES.items()]

    def build(row: tuple[str, tuple[str, ...]], value: str) -> Json:
        key, path = row
        inner: Json = {path[-1]: value}
        for step in reversed(path[:-1]):
            inner = {step: inner}
        return {"name": "v", key: inner}

    return st.builds(build, st.sampled_from(rows), name)


@given(
    volumes=st.lists(_named_sources(NAME), max_size=4),
    env=st.lists(st.tuples(st.sampled_from(["configMapKeyRef", "secretKeyRef"]), NAME), max_size=3),
    pulls=st.lists(NAME, max_size=2),
    token=st.booleans(),
)
def test_every_name_in_the_host_pod_is_an_indexed_reference(
    volumes: list[Json], env: list[tuple[str, str]], pulls: list[str], token: bool
) -> None:
    """Each secret, configmap, PVC name on the host is the host copy of an indexed name,
    kube-root-ca.crt or the token Secret, and every indexed name is named on the host."""
    if token:
        sat = {"projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
        volumes = [*volumes, {"name": "tok", **sat}]
    body = pod(
        volumes=volumes,
        containers=[
            {
                "name": "main",
                "image": "i",
                "env": [{"name": "E", "valueFrom": {k: {"name": n, "key": "k"}}} for k, n in env],
            }
        ],
        imagePullSecrets=[{"name": n} for n in pulls],
    )
    env_ = PodEnvironment(token_secret="tok-secret")
    host = translate_pod(body, translator=T, env=env_)
    refs = pod_references(body)
    indexed = refs.configmaps | refs.secrets | refs.pvcs
    allowed = {h(name) for name in indexed} | {ROOT_CA_CONFIGMAP, "tok-secret"}
    on_host = set(_names_in(host["spec"]))
    assert on_host <= allowed
    assert {h(name) for name in indexed} <= on_host


#: Keys whose object's ``name`` names a reference (``imagePullSecrets`` items included).
_REFERENCE_KEYS = {
    "secret", "configMap", "persistentVolumeClaim", "secretRef", "nodePublishSecretRef",
    "configMapKeyRef", "secretKeyRef", "configMapRef", "dataSource", "dataSourceRef",
    "imagePullSecrets",
}  # fmt: skip


def _names_in(value: Any, parent: str = "") -> list[str]:
    """Every name a spec gives under a reference-like key: a scan independent of the walk."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key in ("secretName", "claimName") or (key == "name" and parent in _REFERENCE_KEYS):
                found.append(child)
            found += _names_in(child, key)
    elif isinstance(value, list):
        for child in value:
            found += _names_in(child, parent)
    return found
