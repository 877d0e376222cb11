"""Tests for syncer.translate: names, labels, selectors, provenance and merges."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from syncer.translate import (
    COLLIDING_LABEL_KEYS,
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_HOST_NAMESPACE_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    Translator,
    host_cluster_name,
    host_name,
    managed_keys_annotation,
    merge_managed,
    object_kind,
    parse_managed_keys,
    safe_concat,
    three_way_merge,
)

# Written from the Kubernetes validation rules, independently of the module under test.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
QUALIFIED_NAME_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")

POD = "/v1, Kind=Pod"
TRANSLATOR = Translator(vcluster="dev", host_namespace="vcluster-dev")


def sha10(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# -- strategies: small alphabets make the edge cases ("-x-", "." at the cut) likely --

_ALNUM = "abx019"
_INNER = _ALNUM + "-"


@st.composite
def dns_labels(draw: st.DrawFn, *, min_size: int = 1, max_size: int = 63) -> str:
    size = draw(st.integers(min_size, max_size))
    if size == 1:
        return draw(st.sampled_from(_ALNUM))
    first, last = draw(st.sampled_from(_ALNUM)), draw(st.sampled_from(_ALNUM))
    return first + draw(st.text(_INNER, min_size=size - 2, max_size=size - 2)) + last


@st.composite
def dns_subdomains(draw: st.DrawFn) -> str:
    labels = draw(st.lists(dns_labels(), min_size=1, max_size=8))
    name = labels[0]
    for label in labels[1:]:
        if len(name) + 1 + len(label) > 253:
            break
        name += "." + label
    return name


@st.composite
def dns1035_labels(draw: st.DrawFn) -> str:
    return draw(st.sampled_from("abx")) + draw(dns_labels(max_size=62))


@st.composite
def dotted_at_cut(draw: st.DrawFn) -> str:
    """Names whose 52nd character is a dot and that are long enough to be cut there."""
    return draw(dns_labels(min_size=51, max_size=51)) + "." + draw(dns_labels(min_size=12))


# -- safe_concat and host names: fixed vectors ------------------------------------


def test_safe_concat_joins_short_parts_with_dashes() -> None:
    """Up to 63 characters the parts are simply joined with '-'."""
    assert safe_concat("web", "x", "shop", "x", "dev") == "web-x-shop-x-dev"
    assert safe_concat("a" * 63) == "a" * 63


def test_safe_concat_hashes_from_64_characters() -> None:
    """At 64 characters the result is the 52-character cut, '-', and 10 hex digits."""
    joined = "a" * 64
    assert safe_concat(joined) == "a" * 52 + "-" + sha10(joined)


def test_long_host_name_vector() -> None:
    """A 60-character name: 63 characters, the cut of the joined string, and its hash."""
    joined = "a" * 60 + "-x-shop-x-dev"
    result = host_name(name="a" * 60, namespace="shop", vcluster="dev")
    assert len(result) == 63
    assert result[:52] == joined[:52]
    assert result[52:] == "-" + sha10(joined)
    assert result == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-6595e6b3a2"


def test_cut_ending_in_a_dot_loses_the_dot() -> None:
    """When the 52-character cut ends in '.', the '.-' becomes '-' (62 characters)."""
    name = "a" * 51 + "." + "b" * 20
    joined = name + "-x-shop-x-dev"
    assert joined[51] == "."
    result = host_name(name=name, namespace="shop", vcluster="dev")
    assert result == "a" * 51 + "-" + sha10(joined)
    assert len(result) == 62
    assert result == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-194103718a"
    assert DNS1123_LABEL.fullmatch(result)


def test_documented_literals() -> None:
    """Literal host names and keys, for readers (each re-derived with hashlib)."""
    deployment_pod = "my-very-long-deployment-name-7d9f8c6b5-abcde"
    joined = f"{deployment_pod}-x-production-eu-x-dev"
    expected = joined[:52] + "-" + sha10(joined)
    assert expected == "my-very-long-deployment-name-7d9f8c6b5-abcde-x-produ-6d874e7d12"
    assert host_name(name=deployment_pod, namespace="production-eu", vcluster="dev") == expected
    assert TRANSLATOR.host_name("shop", "web-0") == "web-0-x-shop-x-dev"
    assert TRANSLATOR.host_cluster_name("fast-ssd") == "vcluster-fast-ssd-x-vcluster-dev-x-dev"
    assert host_cluster_name(name="fast-ssd", host_namespace="vcluster-dev", vcluster="dev") == (
        "vcluster-fast-ssd-x-vcluster-dev-x-dev"
    )
    assert sha10("release") == "a4d451ec23"
    assert TRANSLATOR.translate_label_key("release") == "vcluster.loft.sh/label-dev-x-a4d451ec23"
    assert sha10("team") == "ca8b22d0db"
    assert TRANSLATOR.namespace_label_key("team") == "vcluster.loft.sh/ns-label-dev-x-ca8b22d0db"


def test_short_results_are_not_rewritten() -> None:
    """'.-' is only replaced in the hashed branch, exactly as vcluster does."""
    assert safe_concat("a.", "b") == "a.-b"


def test_dotted_short_name_is_a_subdomain_not_a_label() -> None:
    """A pod named 'web.v1' keeps its dot on the host: a valid subdomain, not a label."""
    result = TRANSLATOR.host_name("shop", "web.v1")
    assert result == "web.v1-x-shop-x-dev"
    assert DNS1123_SUBDOMAIN.fullmatch(result)
    assert not DNS1123_LABEL.fullmatch(result)


def test_non_ascii_names_are_rejected() -> None:
    """Go counts bytes, Python characters; they agree only on ASCII, so nothing else goes."""
    with pytest.raises(ValueError, match="ASCII"):
        safe_concat("café")


def test_object_kind_is_go_gvk_string() -> None:
    """The core group is empty: '/v1, Kind=Pod'."""
    assert object_kind("v1", kind="Pod") == POD
    assert object_kind("apps/v1", kind="Deployment") == "apps/v1, Kind=Deployment"


# -- host names: properties ---------------------------------------------------------


@given(name=dns_subdomains(), namespace=dns_labels(), vcluster=dns_labels())
@example(name="a" * 51 + ".b", namespace="shop", vcluster="dev")
@example(name="a" * 63 + "." + "b" * 63, namespace="c" * 63, vcluster="d" * 63)
def test_host_name_is_a_short_subdomain(name: str, namespace: str, vcluster: str) -> None:
    """Always ≤ 63 characters and a DNS-1123 subdomain; a label exactly when dot-free."""
    result = host_name(name=name, namespace=namespace, vcluster=vcluster)
    assert len(result) <= 63
    assert DNS1123_SUBDOMAIN.fullmatch(result)
    assert bool(DNS1123_LABEL.fullmatch(result)) == ("." not in result)


@given(name=dns_subdomains(), namespace=dns_labels(), vcluster=dns_labels())
def test_dots_survive_exactly_where_the_name_survives(
    name: str, namespace: str, vcluster: str
) -> None:
    """The result has a dot iff the name has one in the kept part (all of it, or 51 chars)."""
    joined = f"{name}-x-{namespace}-x-{vcluster}"
    kept = name if len(joined) <= 63 else name[:51]
    assert ("." in host_name(name=name, namespace=namespace, vcluster=vcluster)) == ("." in kept)


@given(name=dns_labels(), namespace=dns_labels(), vcluster=dns_labels())
def test_dot_free_names_give_labels(name: str, namespace: str, vcluster: str) -> None:
    """A virtual name without dots always yields a DNS-1123 label."""
    assert DNS1123_LABEL.fullmatch(host_name(name=name, namespace=namespace, vcluster=vcluster))


@given(name=dns1035_labels(), namespace=dns_labels(), vcluster=dns_labels())
def test_service_names_give_dns1035_labels(name: str, namespace: str, vcluster: str) -> None:
    """A DNS-1035 name (every service) yields a DNS-1035 label."""
    assert DNS1035_LABEL.fullmatch(host_name(name=name, namespace=namespace, vcluster=vcluster))


@given(name=dotted_at_cut(), namespace=dns_labels(), vcluster=dns_labels())
def test_dot_at_the_cut_is_dropped(name: str, namespace: str, vcluster: str) -> None:
    """A cut ending in '.' gives 51 characters + '-' + hash: 62 characters, a valid name."""
    result = host_name(name=name, namespace=namespace, vcluster=vcluster)
    assert len(result) == 62
    assert result[51:] == "-" + sha10(f"{name}-x-{namespace}-x-{vcluster}")
    assert DNS1123_SUBDOMAIN.fullmatch(result)


@given(name=dns_subdomains(), host_namespace=dns_labels(), vcluster=dns_labels())
def test_cluster_names_are_short_subdomains(name: str, host_namespace: str, vcluster: str) -> None:
    """Cluster-scoped host names obey the same bounds."""
    result = host_cluster_name(name=name, host_namespace=host_namespace, vcluster=vcluster)
    assert len(result) <= 63
    assert DNS1123_SUBDOMAIN.fullmatch(result)


@given(
    first=st.tuples(dns_labels(), dns_subdomains()),
    second=st.tuples(dns_labels(), dns_subdomains()),
    vcluster=dns_labels(),
)
def test_collisions_need_equal_joined_strings(
    first: tuple[str, str], second: tuple[str, str], vcluster: str
) -> None:
    """Equal host names mean equal 'name-x-namespace' (hash collisions aside)."""
    (ns1, name1), (ns2, name2) = first, second
    same = host_name(name=name1, namespace=ns1, vcluster=vcluster) == host_name(
        name=name2, namespace=ns2, vcluster=vcluster
    )
    assert same == (f"{name1}-x-{ns1}" == f"{name2}-x-{ns2}")
    if "-x-" not in ns1 and "-x-" not in ns2:
        assert same == (first == second)


def test_x_separators_inside_names_are_ambiguous() -> None:
    """'a-x-b' in 'c' and 'a' in 'b-x-c' share a host name; annotations tell them apart."""
    assert TRANSLATOR.host_name("c", "a-x-b") == TRANSLATOR.host_name("b-x-c", "a")


@given(a=dns_labels(max_size=20), b=dns_labels(max_size=20), c=dns_labels(max_size=20))
def test_ambiguous_pairs_round_trip_through_annotations(a: str, b: str, c: str) -> None:
    """Each of two colliding objects maps back to its own key, not the other's."""
    one, other = (c, f"{a}-x-{b}"), (f"{b}-x-{c}", a)
    assert TRANSLATOR.host_name(*one) == TRANSLATOR.host_name(*other)
    for key in (one, other):
        assert TRANSLATOR.virtual_key_from_host(host_object(TRANSLATOR, *key)) == key


# -- labels and selectors -----------------------------------------------------------


@pytest.mark.parametrize("key", sorted(COLLIDING_LABEL_KEYS))
def test_colliding_label_keys_are_renamed(key: str) -> None:
    """The four reserved keys become vcluster.loft.sh/label-<vc>-x-<hash>."""
    assert TRANSLATOR.translate_label_key(key) == f"vcluster.loft.sh/label-dev-x-{sha10(key)}"


@pytest.mark.parametrize(
    "key",
    [
        "vcluster.loft.sh/other",
        "vcluster.loft.sh/ns-label-dev-x-0123456789",
        "vcluster.loft.sh/fake-node",
        "vsyncer.dev/service-account-token",
    ],
)
def test_tenant_keys_in_the_syncers_key_space_are_renamed(key: str) -> None:
    """A tenant label cannot pose as a marker, a namespace-label copy or a token secret's."""
    assert TRANSLATOR.translate_label_key(key) == f"vcluster.loft.sh/label-dev-x-{sha10(key)}"


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "loft.sh/x", "dev/x"])
def test_other_label_keys_are_unchanged(key: str) -> None:
    """Every other key is copied as it is."""
    assert TRANSLATOR.translate_label_key(key) == key


@given(vcluster=dns_labels(), key=st.sampled_from(sorted(COLLIDING_LABEL_KEYS)), other=st.text())
def test_translated_keys_are_qualified_names(vcluster: str, key: str, other: str) -> None:
    """Renamed and namespace-label keys are valid label keys for any vcluster name."""
    translator = Translator(vcluster=vcluster, host_namespace="host")
    for translated in (translator.translate_label_key(key), translator.namespace_label_key(other)):
        prefix, _, name = translated.partition("/")
        assert prefix == "vcluster.loft.sh"
        assert len(name) <= 63
        assert QUALIFIED_NAME_PART.fullmatch(name)


def test_translate_labels_adds_markers_and_keeps_values() -> None:
    """User labels (values untouched) plus managed-by and namespace markers."""
    labels = {"app": "web", "release": "v1", MANAGED_BY_LABEL: "spoof"}
    assert TRANSLATOR.translate_labels(labels, namespace="shop") == {
        "app": "web",
        TRANSLATOR.translate_label_key("release"): "v1",
        TRANSLATOR.translate_label_key(MANAGED_BY_LABEL): "spoof",
        MANAGED_BY_LABEL: "dev",
        NAMESPACE_LABEL: "shop",
    }


def test_cluster_scoped_labels_have_no_namespace_marker() -> None:
    """namespace='' (cluster-scoped) gets only the managed-by marker."""
    assert TRANSLATOR.translate_labels(None, namespace="") == {MANAGED_BY_LABEL: "dev"}


def test_namespace_labels_are_prefixed() -> None:
    """Labels of the virtual namespace become ns-label keys with the same values."""
    assert TRANSLATOR.translate_namespace_labels({"team": "a"}) == {
        "vcluster.loft.sh/ns-label-dev-x-ca8b22d0db": "a"
    }


@pytest.mark.parametrize("selector", [None, {}])
def test_missing_service_selector_stays_empty(selector: dict[str, str] | None) -> None:
    """No selector means 'endpoints managed elsewhere': no marker terms are added."""
    assert TRANSLATOR.translate_selector(selector, namespace="shop") == {}


def test_service_selector_gains_marker_terms() -> None:
    """Keys are translated; managed-by and namespace terms confine it to one namespace."""
    assert TRANSLATOR.translate_selector({"app": "web", "release": "v1"}, namespace="shop") == {
        "app": "web",
        "vcluster.loft.sh/label-dev-x-a4d451ec23": "v1",
        MANAGED_BY_LABEL: "dev",
        NAMESPACE_LABEL: "shop",
    }


def test_label_selector_translates_expressions() -> None:
    """matchExpressions keys are translated, values copied, and the input is untouched."""
    selector: dict[str, Any] = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "release", "operator": "In", "values": ["v1", "v2"]},
            {"key": "tier", "operator": "Exists"},
        ],
    }
    before = repr(selector)
    host = TRANSLATOR.translate_label_selector(selector, namespace="shop")
    assert repr(selector) == before
    assert host == {
        "matchLabels": {"app": "web", MANAGED_BY_LABEL: "dev", NAMESPACE_LABEL: "shop"},
        "matchExpressions": [
            {
                "key": TRANSLATOR.translate_label_key("release"),
                "operator": "In",
                "values": ["v1", "v2"],
            },
            {"key": "tier", "operator": "Exists"},
        ],
    }
    assert host["matchExpressions"][0]["values"] is not selector["matchExpressions"][0]["values"]


def test_empty_label_selector_matches_only_the_namespace() -> None:
    """An empty selector ('every pod') becomes 'every pod of this virtual namespace'."""
    assert TRANSLATOR.translate_label_selector({}, namespace="shop") == {
        "matchLabels": {MANAGED_BY_LABEL: "dev", NAMESPACE_LABEL: "shop"}
    }


def test_selectors_need_a_namespace() -> None:
    """A selector without a virtual namespace could match across namespaces: refused."""
    with pytest.raises(ValueError, match="namespace"):
        TRANSLATOR.translate_label_selector({}, namespace="")


# -- provenance and ownership --------------------------------------------------------


def host_object(
    translator: Translator, namespace: str, name: str, *, kind_string: str = POD
) -> dict[str, Any]:
    """A host object exactly as the syncer would create it."""
    if namespace:
        p_name, p_namespace = translator.host_name(namespace, name), translator.host_namespace
    else:
        p_name, p_namespace = translator.host_cluster_name(name), ""
    annotations = translator.provenance_annotations(
        kind_string=kind_string, namespace=namespace, name=name, uid="uid-1", host_name=p_name
    )
    metadata: dict[str, Any] = {
        "name": p_name,
        "labels": translator.translate_labels({"app": "web"}, namespace=namespace),
        "annotations": annotations,
    }
    if p_namespace:
        metadata["namespace"] = p_namespace
    return {"metadata": metadata}


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


# -- managed keys and merges -----------------------------------------------------------

_KEYS = st.sampled_from(["a", "b", "c", "d", "e"])
_MAPS = st.dictionaries(_KEYS, st.sampled_from(["1", "2", "3"]))


def test_managed_keys_annotation_is_sorted_lines() -> None:
    """Newline-separated, sorted, without duplicates; parsing inverts it."""
    assert managed_keys_annotation(["b", "a", "b"]) == "a\nb"
    assert parse_managed_keys("a\nb") == {"a", "b"}
    assert parse_managed_keys(None) == set()
    assert parse_managed_keys("") == set()


@given(keys=st.sets(st.text(st.characters(exclude_characters="\n"), min_size=1)))
def test_managed_keys_round_trip(keys: set[str]) -> None:
    """parse(annotation(keys)) == keys for any keys without newlines."""
    assert parse_managed_keys(managed_keys_annotation(keys)) == keys


@pytest.mark.parametrize(
    ("desired", "current_host", "previously_managed", "expected"),
    [
        ({"a": "1"}, {}, set(), {"a": "1"}),
        ({"a": "1"}, {"a": "1", "h": "x"}, {"a"}, {"a": "1", "h": "x"}),
        ({}, {"a": "1", "h": "x"}, {"a"}, {"h": "x"}),
        ({"a": "2"}, {"a": "1"}, {"a"}, {"a": "2"}),
        ({"h": "v"}, {"h": "x"}, set(), {"h": "v"}),
        ({}, {"a": "changed-on-host"}, {"a"}, {}),
    ],
    ids=["create", "host-key-survives", "removed-in-virtual", "update", "conflict", "remove"],
)
def test_merge_managed_table(
    desired: dict[str, str],
    current_host: dict[str, str],
    previously_managed: set[str],
    expected: dict[str, str],
) -> None:
    """Before/after cases for managed-key bookkeeping."""
    assert (
        merge_managed(
            desired=desired, current_host=current_host, previously_managed=previously_managed
        )
        == expected
    )


@given(desired=_MAPS, current_host=_MAPS, previously_managed=st.sets(_KEYS))
def test_merge_managed_properties(
    desired: dict[str, str], current_host: dict[str, str], previously_managed: set[str]
) -> None:
    """Desired wins, host-only keys survive, removed keys go, nothing else appears."""
    merged = merge_managed(
        desired=desired, current_host=current_host, previously_managed=previously_managed
    )
    assert desired.items() <= merged.items()
    for key, value in current_host.items():
        if key not in desired and key not in previously_managed:
            assert merged[key] == value
    assert not (previously_managed - desired.keys()) & merged.keys()
    assert merged.keys() <= desired.keys() | current_host.keys()


@pytest.mark.parametrize(
    ("last", "virtual", "host", "expected"),
    [
        ({"a": "1"}, {"a": "1"}, {"a": "1"}, {"a": "1"}),
        ({"a": "1"}, {"a": "2"}, {"a": "1"}, {"a": "2"}),
        ({"a": "1"}, {"a": "1"}, {"a": "3"}, {"a": "3"}),
        ({"a": "1"}, {"a": "2"}, {"a": "3"}, {"a": "2"}),
        ({"a": "1"}, {}, {"a": "1"}, {}),
        ({"a": "1"}, {"a": "1"}, {}, {}),
        ({}, {}, {"h": "1"}, {"h": "1"}),
        ({}, {"v": "1"}, {}, {"v": "1"}),
        ({}, {"k": "v"}, {"k": "h"}, {"k": "v"}),
        ({"a": "1"}, {}, {"a": "3"}, {}),
        ({"a": "1"}, {"a": "2"}, {}, {"a": "2"}),
    ],
    ids=[
        "unchanged",
        "virtual-changed",
        "host-changed",
        "conflict-virtual-wins",
        "virtual-deleted",
        "host-deleted",
        "host-added",
        "virtual-added",
        "both-added-virtual-wins",
        "virtual-deleted-host-changed",
        "host-deleted-virtual-changed",
    ],
)
def test_three_way_merge_table(
    last: dict[str, str], virtual: dict[str, str], host: dict[str, str], expected: dict[str, str]
) -> None:
    """Before/after cases for maps that change on both sides."""
    assert three_way_merge(last=last, virtual=virtual, host=host) == expected


@given(last=_MAPS, virtual=_MAPS, host=_MAPS)
def test_three_way_merge_properties(
    last: dict[str, str], virtual: dict[str, str], host: dict[str, str]
) -> None:
    """One-sided changes (deletions too) propagate; true conflicts go to virtual."""
    merged = three_way_merge(last=last, virtual=virtual, host=host)
    for key in last.keys() | virtual.keys() | host.keys():
        base, v_value, p_value = last.get(key), virtual.get(key), host.get(key)
        if v_value == base:
            assert merged.get(key) == p_value
        else:
            assert merged.get(key) == v_value
    if host == last:
        assert merged == virtual
    if virtual == last:
        assert merged == host
    assert three_way_merge(last=merged, virtual=merged, host=merged) == merged
