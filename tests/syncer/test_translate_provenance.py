"""Tests for syncer.translate provenance: annotations, the inverse mapping and ownership."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.translate import (
    MANAGED_BY_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_HOST_NAMESPACE_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    WORKLOAD_SERVICE_ACCOUNT_KIND,
    Translator,
)
from tests.syncer.translate_support import (
    POD,
    TRANSLATOR,
    dns_labels,
    dns_subdomains,
    host_object,
)

# -- provenance and ownership --------------------------------------------------------


def test_provenance_annotations() -> None:
    """Name, namespace, uid, kind, host name and host namespace of the pair."""
    assert TRANSLATOR.provenance_annotations(
        kind_string=POD, namespace="shop", name="web", uid="u1", host_name="web-x-shop-x-dev"
    ) == {
        OBJECT_NAME_ANNOTATION: "web",
        OBJECT_NAMESPACE_ANNOTATION: "shop",
        OBJECT_UID_ANNOTATION: "u1",
        OBJECT_KIND_ANNOTATION: POD,
        OBJECT_HOST_NAME_ANNOTATION: "web-x-shop-x-dev",
        OBJECT_HOST_NAMESPACE_ANNOTATION: "vcluster-dev",
    }


@given(
    namespace=dns_labels(),
    name=dns_subdomains(),
    vcluster=dns_labels(),
    host_namespace=dns_labels(),
)
def test_inverse_by_annotation_round_trips(
    namespace: str, name: str, vcluster: str, host_namespace: str
) -> None:
    """A host object built by the translator maps back to its virtual key and is ours."""
    translator = Translator(vcluster=vcluster, host_namespace=host_namespace)
    p_obj = host_object(translator, namespace, name)
    assert translator.virtual_key_from_host(p_obj) == (namespace, name)
    assert translator.is_owned(p_obj, kind_string=POD)


@given(name=dns_subdomains())
def test_cluster_scoped_inverse_round_trips(name: str) -> None:
    """Cluster-scoped host objects map back to ('', name)."""
    p_obj = host_object(TRANSLATOR, "", name, kind_string="storage.k8s.io/v1, Kind=StorageClass")
    assert TRANSLATOR.virtual_key_from_host(p_obj) == ("", name)
    assert TRANSLATOR.is_owned(p_obj, kind_string="storage.k8s.io/v1, Kind=StorageClass")


def _set(obj: dict[str, Any], field: str, key: str, value: Any) -> None:
    if value is None:
        obj["metadata"][field].pop(key, None)
    else:
        obj["metadata"][field][key] = value


SPOOFS: list[tuple[str, str, str, Any]] = [
    ("name points elsewhere", "annotations", OBJECT_NAME_ANNOTATION, "other"),
    ("namespace points elsewhere", "annotations", OBJECT_NAMESPACE_ANNOTATION, "other"),
    ("no object-name", "annotations", OBJECT_NAME_ANNOTATION, None),
    ("no object-namespace", "annotations", OBJECT_NAMESPACE_ANNOTATION, None),
    ("object-name not a string", "annotations", OBJECT_NAME_ANNOTATION, 7),
    ("object-name not ASCII", "annotations", OBJECT_NAME_ANNOTATION, "wéb"),
    ("other vcluster", "labels", MANAGED_BY_LABEL, "prod"),
    ("no marker label", "labels", MANAGED_BY_LABEL, None),
]


@pytest.mark.parametrize(
    ("field", "key", "value"), [s[1:] for s in SPOOFS], ids=[s[0] for s in SPOOFS]
)
def test_spoofed_objects_are_not_ours(field: str, key: str, value: Any) -> None:
    """Any broken rule makes the object someone else's."""
    p_obj = host_object(TRANSLATOR, "shop", "web")
    _set(p_obj, field, key, value)
    assert TRANSLATOR.virtual_key_from_host(p_obj) is None
    assert not TRANSLATOR.is_owned(p_obj, kind_string=POD)


def test_object_outside_the_host_namespace_is_not_ours() -> None:
    """A perfect copy in another namespace is ignored."""
    p_obj = host_object(TRANSLATOR, "shop", "web")
    p_obj["metadata"]["namespace"] = "elsewhere"
    assert TRANSLATOR.virtual_key_from_host(p_obj) is None
    assert not TRANSLATOR.is_owned(p_obj, kind_string=POD)


def test_cluster_scoped_object_claiming_a_namespace_is_not_ours() -> None:
    """A cluster-scoped host object must not carry object-namespace."""
    p_obj = host_object(TRANSLATOR, "", "fast")
    p_obj["metadata"]["annotations"][OBJECT_NAMESPACE_ANNOTATION] = "shop"
    assert TRANSLATOR.virtual_key_from_host(p_obj) is None


@pytest.mark.parametrize("kind_string", ["/v1, Kind=Service", "v1, Kind=Pod", ""])
def test_wrong_kind_is_not_owned(kind_string: str) -> None:
    """The key maps back, but a different object-kind means not ours to touch."""
    p_obj = host_object(TRANSLATOR, "shop", "web", kind_string=kind_string)
    assert TRANSLATOR.virtual_key_from_host(p_obj) == ("shop", "web")
    assert not TRANSLATOR.is_owned(p_obj, kind_string=POD)


@pytest.mark.parametrize("p_obj", [{}, {"metadata": None}, {"metadata": {"name": "x"}}])
def test_malformed_objects_are_not_ours(p_obj: dict[str, Any]) -> None:
    """Missing metadata is never trusted."""
    assert TRANSLATOR.virtual_key_from_host(p_obj) is None
    assert not TRANSLATOR.is_owned(p_obj, kind_string=POD)


@given(
    real=st.tuples(dns_labels(), dns_subdomains()),
    claimed=st.tuples(dns_labels(), dns_subdomains()),
)
def test_annotations_pointing_elsewhere_are_rejected(
    real: tuple[str, str], claimed: tuple[str, str]
) -> None:
    """Annotations naming a key whose host name differs from the object's name → None."""
    p_obj = host_object(TRANSLATOR, *real)
    _set(p_obj, "annotations", OBJECT_NAMESPACE_ANNOTATION, claimed[0])
    _set(p_obj, "annotations", OBJECT_NAME_ANNOTATION, claimed[1])
    trusted = TRANSLATOR.host_name(*claimed) == TRANSLATOR.host_name(*real)
    assert (TRANSLATOR.virtual_key_from_host(p_obj) == claimed) == trusted
    if not trusted:
        assert TRANSLATOR.virtual_key_from_host(p_obj) is None


def test_translator_rejects_empty_names() -> None:
    """A translator needs both names."""
    with pytest.raises(ValueError, match="vcluster"):
        Translator(vcluster="", host_namespace="h")


def test_the_workload_service_account_is_ours_by_marker_and_namespace_only() -> None:
    """Created by this syncer (marker label, its own kind, the host namespace): ours; the
    same marker of another vcluster, another namespace, or no such kind: not ours."""
    sa_kind = "/v1, Kind=ServiceAccount"
    t = TRANSLATOR

    def account(*, vcluster: str, namespace: str, kind: str) -> dict[str, Any]:
        return {
            "metadata": {
                "name": "vc-workload-x",
                "namespace": namespace,
                "labels": {MANAGED_BY_LABEL: vcluster},
                "annotations": {OBJECT_KIND_ANNOTATION: kind},
            }
        }

    ours = account(
        vcluster=t.vcluster, namespace=t.host_namespace, kind=WORKLOAD_SERVICE_ACCOUNT_KIND
    )
    assert t.is_owned(ours, kind_string=sa_kind)
    assert not t.is_owned(ours, kind_string="/v1, Kind=Secret")
    for other in (
        account(vcluster="other", namespace=t.host_namespace, kind=WORKLOAD_SERVICE_ACCOUNT_KIND),
        account(vcluster=t.vcluster, namespace="elsewhere", kind=WORKLOAD_SERVICE_ACCOUNT_KIND),
        account(vcluster=t.vcluster, namespace=t.host_namespace, kind=sa_kind),
    ):
        assert not t.is_owned(other, kind_string=sa_kind)
