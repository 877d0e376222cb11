"""The generic mapper: name round trips, ownership, host metadata, the copy reconcile."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.configmaps import ConfigMapMapper
from mappers.references import CONFIGMAP_INDEX, SECRET_INDEX, index_configmaps, index_secrets
from mappers.secrets import SecretMapper
from mappers.tokens import TOKEN_SECRET_LABEL
from syncer.api import (
    CONFIGMAPS,
    MANAGED_ANNOTATIONS_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_LABELS_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    PODS,
    SECRETS,
    ObjectKey,
    Translator,
)
from syncer.kit import (
    RESERVED_ANNOTATIONS,
    NamespacedMapper,
    RecentCreates,
    host_metadata,
    no_keys,
)
from tests.mappers.fakes import Fake, T

Json = dict[str, Any]
MAPPER = NamespacedMapper(resource=CONFIGMAPS, translator=T)

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
subdomains = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,100}[a-z0-9])?", fullmatch=True)


def v_obj(name: str = "cfg", namespace: str = "shop", **meta: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "uid": "v-uid", **meta},
        "data": {"k": "v"},
    }


def host_copy(obj: Json) -> Json:
    return {"metadata": host_metadata(translator=T, resource=CONFIGMAPS, v_obj=obj)}


@given(name=subdomains, namespace=labels)
def test_host_name_round_trips_through_provenance(name: str, namespace: str) -> None:
    """virtual key → host object → the same virtual key; host names fit 63 characters."""
    key = ObjectKey("configmaps", namespace, name)
    p_obj = host_copy(v_obj(name, namespace))
    assert MAPPER.virtual_to_host(key) == p_obj["metadata"]["name"]
    assert len(p_obj["metadata"]["name"]) <= 63
    assert MAPPER.host_to_virtual(p_obj) == key
    assert MAPPER.is_managed(p_obj)


def _with(p_obj: Json, **changes: Any) -> Json:
    meta = {**p_obj["metadata"], **changes}
    return {"metadata": meta}


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("another vcluster's marker", {"labels": {MANAGED_BY_LABEL: "other"}}),
        ("outside the host namespace", {"namespace": "elsewhere"}),
        ("renamed by someone", {"name": "not-the-translation"}),
    ],
)
def test_foreign_host_objects_are_not_ours(case: str, change: Json) -> None:
    """Marker, namespace and name must all agree with the provenance."""
    p_obj = _with(host_copy(v_obj()), **change)
    assert MAPPER.host_to_virtual(p_obj) is None, case
    assert not MAPPER.is_managed(p_obj), case


def test_another_kind_is_not_ours() -> None:
    """The object-kind annotation must name this mapper's kind."""
    p_obj = host_copy(v_obj())
    p_obj["metadata"]["annotations"][OBJECT_KIND_ANNOTATION] = PODS.kind_string
    assert not MAPPER.is_managed(p_obj)
    assert MAPPER.host_to_virtual(p_obj) is None


def test_tenant_cannot_spoof_provenance() -> None:
    """Syncer-owned labels and annotations on a virtual object never reach the host as such."""
    spoofed = v_obj(
        labels={MANAGED_BY_LABEL: "vc"},
        annotations={
            OBJECT_NAME_ANNOTATION: "victim",
            OBJECT_UID_ANNOTATION: "x",
            MANAGED_LABELS_ANNOTATION: "release",
            "vcluster.loft.sh/anything": "x",
            "vsyncer.dev/recreate-virtual": "{}",
            "note": "kept",
        },
    )
    meta = host_copy(spoofed)["metadata"]
    assert meta["annotations"][OBJECT_NAME_ANNOTATION] == "cfg"
    assert meta["annotations"][OBJECT_UID_ANNOTATION] == "v-uid"
    assert meta["annotations"]["note"] == "kept"
    assert meta["annotations"][MANAGED_ANNOTATIONS_ANNOTATION] == "note"
    assert meta["labels"][T.translate_label_key(MANAGED_BY_LABEL)] == "vc"
    assert meta["labels"][MANAGED_BY_LABEL] == "vc"
    assert OBJECT_NAME_ANNOTATION in RESERVED_ANNOTATIONS
    assert "vcluster.loft.sh/anything" not in meta["annotations"]
    assert "vsyncer.dev/recreate-virtual" not in meta["annotations"]


def test_host_added_keys_survive_and_removed_virtual_keys_go() -> None:
    """managed-labels / managed-annotations bookkeeping, both directions."""
    before = v_obj(labels={"a": "1", "b": "2"}, annotations={"x": "1"})
    p_obj = host_copy(before)
    p_obj["metadata"]["labels"]["host-added"] = "yes"
    p_obj["metadata"]["annotations"]["host-note"] = "yes"
    after = v_obj(labels={"a": "1"}, annotations={})
    meta = host_metadata(translator=T, resource=CONFIGMAPS, v_obj=after, p_obj=p_obj)
    assert meta["labels"] == {"a": "1", "host-added": "yes", MANAGED_BY_LABEL: "vc", **_ns()}
    assert "x" not in meta["annotations"]
    assert meta["annotations"]["host-note"] == "yes"
    assert MANAGED_ANNOTATIONS_ANNOTATION not in meta["annotations"]
    assert meta["annotations"][MANAGED_LABELS_ANNOTATION] == "a"


def _ns() -> dict[str, str]:
    return {"vcluster.loft.sh/namespace": "shop"}


def test_recent_creates_expire() -> None:
    """A remembered create explains 'already exists' only within its window."""
    recent = RecentCreates(seconds=60)
    key = ObjectKey("pods", "a", "b")
    assert not recent.recent(key)
    recent.remember(key)
    assert recent.recent(key)
    assert not RecentCreates(seconds=-1).recent(key)
    expired = RecentCreates(seconds=-1)
    expired.remember(key)
    assert not expired.recent(key)
    assert no_keys(v_obj()) == []


def test_recent_creates_forget_expired_keys_without_being_asked() -> None:
    """Keys nobody asks about again do not pile up: memory follows the live window."""
    expired = RecentCreates(seconds=-1)
    for n in range(10_000):
        expired.remember(ObjectKey("pods", "a", f"p{n}"))
    assert len(expired) < 1024
    live = RecentCreates(seconds=60)
    for n in range(3_000):
        live.remember(ObjectKey("pods", "a", f"p{n}"))
    assert len(live) == 3_000
    assert all(live.recent(ObjectKey("pods", "a", f"p{n}")) for n in range(3_000))


def _pod_using(name: str) -> Json:
    return {
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"volumes": [{"name": "v", "configMap": {"name": name}}]},
    }


def _fake(*, pods: list[Json], configmaps: list[Json], host: list[Json]) -> Fake:
    fake = Fake(virtual={"pods": pods, "configmaps": configmaps}, host={"configmaps": host})
    fake.virtual_caches["pods"].indexes[CONFIGMAP_INDEX] = index_configmaps
    return fake


async def test_configmap_synced_only_while_referenced() -> None:
    """Referenced → created; changed → updated; unreferenced → deleted; never → nothing."""
    mapper = ConfigMapMapper(translator=T)
    cm = v_obj()
    p_name = T.host_name("shop", "cfg")
    fake = _fake(pods=[_pod_using("cfg")], configmaps=[cm], host=[])
    await fake.bind(mapper).sync_to_host(fake.ctx, cm)
    assert fake.calls == [("host", "create", p_name)]
    created = fake.host.created[0]
    assert created["data"] == {"k": "v"}

    changed = {**cm, "data": {"k": "v2"}}
    fake = _fake(pods=[_pod_using("cfg")], configmaps=[changed], host=[created])
    await fake.bind(mapper).sync(fake.ctx, changed, created)
    assert fake.calls == [("host", "update", p_name)]
    assert fake.host.updated[0]["data"] == {"k": "v2"}

    fake = _fake(pods=[], configmaps=[cm], host=[created])
    await fake.bind(mapper).sync(fake.ctx, cm, created)
    assert fake.calls == [("host", "delete(grace=None)", p_name)]

    fake = _fake(pods=[_pod_using("other")], configmaps=[cm], host=[])
    await fake.bind(mapper).sync_to_host(fake.ctx, cm)
    assert fake.calls == []


async def test_without_the_pods_index_nothing_is_referenced() -> None:
    """No pods mapper → no index → no synced pod refers to anything."""
    mapper = ConfigMapMapper(translator=T)
    fake = Fake(virtual={"configmaps": [v_obj()]}, host={"configmaps": []})
    await fake.bind(mapper).sync_to_host(fake.ctx, v_obj())
    assert fake.calls == []


def test_configmap_and_secret_keys() -> None:
    """kube-root-ca.crt is not synced; pods map to the keys they use; token secrets aren't ours."""
    cms = ConfigMapMapper(translator=T)
    assert cms.virtual_to_host(ObjectKey("configmaps", "shop", "kube-root-ca.crt")) is None
    assert cms.keys_of_pod(_pod_using("cfg")) == [ObjectKey("configmaps", "shop", "cfg")]
    secrets = SecretMapper(translator=T)
    token = {"metadata": host_metadata(translator=T, resource=SECRETS, v_obj=v_obj("t"))}
    assert secrets.is_managed(token)
    token["metadata"]["labels"][TOKEN_SECRET_LABEL] = "true"
    assert not secrets.is_managed(token)
    assert secrets.host_to_virtual(token) is None


async def test_secret_copy_drops_the_token_marker_and_service_account_type() -> None:
    """A tenant cannot label a secret as a token secret; SA-token secrets become Opaque."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": "s",
            "namespace": "shop",
            "uid": "u",
            "labels": {TOKEN_SECRET_LABEL: "true"},
            "annotations": {"kubernetes.io/service-account.name": "x"},
        },
        "data": {"token": "dA=="},
    }
    pod = {
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"imagePullSecrets": [{"name": "s"}]},
    }
    fake = Fake(virtual={"pods": [pod]}, host={"secrets": []})
    fake.virtual_caches["pods"].indexes[SECRET_INDEX] = index_secrets
    await fake.bind(SecretMapper(translator=T)).sync_to_host(fake.ctx, secret)
    body = fake.host.created[0]
    assert body["type"] == "Opaque"
    assert TOKEN_SECRET_LABEL not in body["metadata"]["labels"]
    assert "kubernetes.io/service-account.name" not in body["metadata"]["annotations"]


def test_translator_is_the_one_passed_in() -> None:
    """Mappers hold the translator they were built with (no globals)."""
    other = Translator(vcluster="x", host_namespace="y")
    assert NamespacedMapper(resource=CONFIGMAPS, translator=other).translator is other
