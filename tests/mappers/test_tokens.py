"""The virtual service-account token Secret: sources, request, secret shape and freshness."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.podspec import PodEnvironment, translate_pod
from mappers.tokens import (
    CA_KEY,
    MIN_EXPIRATION,
    TOKEN_REFRESH_ANNOTATION,
    TokenSource,
    format_time,
    is_token_secret,
    legacy_token_secret_host_name,
    mounted_token_secret,
    parse_time,
    refresh_after,
    service_account_of,
    token_key,
    token_request,
    token_secret,
    token_secret_fresh,
    token_secret_host_name,
    token_secret_name,
    token_secret_owner,
    token_sources,
)
from syncer.api import (
    MANAGED_BY_LABEL,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    SECRETS,
    TOKEN_SECRET_KIND,
    token_host_name,
)
from tests.mappers.fakes import T

V_POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"},
    "spec": {
        "serviceAccountName": "builder",
        "volumes": [
            {
                "name": "a",
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"path": "token", "expirationSeconds": 7200}},
                        {"serviceAccountToken": {"path": "t2", "expirationSeconds": 100}},
                    ]
                },
            },
            {
                "name": "b",
                "projected": {
                    "sources": [{"serviceAccountToken": {"audience": "vault", "path": "v"}}]
                },
            },
        ],
    },
}
P_POD = {"metadata": {"name": "web-x-shop-x-vc", "uid": "p-uid"}}


def test_sources_are_deduplicated_by_audience_with_the_shortest_lifetime() -> None:
    """One token per audience; lifetimes are clamped to the API server's minimum."""
    assert token_sources(V_POD) == [
        TokenSource("token", None, MIN_EXPIRATION),
        TokenSource(token_key("vault"), "vault", 3607),
    ]
    assert service_account_of(V_POD) == "builder"
    assert service_account_of({"spec": {}}) == "default"


def test_request_is_bound_to_the_virtual_pod() -> None:
    """The TokenRequest names the virtual pod (name and UID) and the audience, if any."""
    request = token_request(V_POD, TokenSource("k", "vault", 600))
    assert request["spec"] == {
        "expirationSeconds": 600,
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "v-uid"},
        "audiences": ["vault"],
    }


def test_secret_is_ours_owned_by_the_host_pod_and_fresh_until_due() -> None:
    """The Secret passes the host writer's ownership rules and carries token, CA, namespace."""
    secret = token_secret(
        translator=T, v_pod=V_POD, p_pod=P_POD, tokens={"token": "abc"}, ca="CA", refresh_at=2000
    )
    assert T.is_owned(secret, kind_string=SECRETS.kind_string)
    assert is_token_secret(secret)
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "p-uid"
    assert base64.b64decode(secret["data"][CA_KEY]) == b"CA"
    assert base64.b64decode(secret["data"]["namespace"]) == b"shop"
    sources = [TokenSource("token", None, 600)]
    assert token_secret_fresh(secret, p_pod=P_POD, sources=sources, ca="CA", now=1000) == 1000
    assert token_secret_fresh(secret, p_pod=P_POD, sources=sources, ca="CA", now=2000) is None
    other_pod = {"metadata": {"uid": "other"}}
    assert token_secret_fresh(secret, p_pod=other_pod, sources=sources, ca="CA", now=1000) is None
    more = [*sources, TokenSource("token-x", "x", 600)]
    assert token_secret_fresh(secret, p_pod=P_POD, sources=more, ca="CA", now=1000) is None
    # The virtual CA changed (or was not cached when the Secret was made): renewed now.
    assert token_secret_fresh(secret, p_pod=P_POD, sources=sources, ca="CA2", now=1000) is None
    assert secret["metadata"]["annotations"][TOKEN_REFRESH_ANNOTATION] == format_time(2000)


def test_times() -> None:
    """RFC 3339 round trip; renewal at 80 % of the lifetime."""
    assert parse_time(format_time(1_700_000_000)) == 1_700_000_000
    assert parse_time("garbage") is None
    assert parse_time(None) is None
    assert refresh_after(issued=0, expires=1000) == 800


# -- the token Secret's name ---------------------------------------------------------------

any_names = st.text(alphabet="abcdefx0123456789.-", min_size=1, max_size=90)
dns_names = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,80}[a-z0-9])?", fullmatch=True)


def pod_named(namespace: str, name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "uid": "u"}, "spec": {}}


@given(pod_ns=dns_names, pod=dns_names, namespace=any_names, name=any_names)
def test_no_tenant_object_can_take_a_token_secret_name(
    pod_ns: str, pod: str, namespace: str, name: str
) -> None:
    """No (namespace, name) at all translates to any pod's token Secret name."""
    token = token_secret_host_name(T, pod_named(pod_ns, pod))
    tenant = T.host_name(namespace, name)
    assert tenant != token
    # The docstring's argument: every host name has one of two shapes, a token name neither.
    assert "-x-" in tenant or re.search(r"-[0-9a-f]{10}$", tenant)
    assert "-x-" not in token
    assert not re.search(r"-[0-9a-f]{10}$", token)


@given(namespace=any_names, name=any_names)
def test_a_tenant_object_named_like_the_token_secret_does_not_collide(
    namespace: str, name: str
) -> None:
    """Even a tenant secret literally named like a token Secret gets another host name."""
    token = token_host_name(vcluster="vc", namespace=namespace, pod=name)
    assert T.host_name(namespace, token) != token
    assert T.host_name(namespace, token_secret_name(name)) != token


def test_token_names_are_per_pod_and_per_vcluster_and_valid() -> None:
    """Distinct pods, namespaces and vclusters get distinct names; each a DNS-1123 label."""
    names = {
        token_host_name(vcluster=vc, namespace=ns, pod=pod)
        for vc in ("vc", "vc2")
        for ns in ("a", "b")
        for pod in ("web", "web2")
    }
    assert len(names) == 8
    for name in names:
        assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name)
        assert len(name) <= 63


def test_new_secret_is_owned_by_its_own_rule_only() -> None:
    """The new-scheme Secret re-translates by the token rule; a tampered one does not."""
    name = token_secret_host_name(T, V_POD)
    secret = token_secret(
        translator=T, v_pod=V_POD, p_pod=P_POD, tokens={}, ca="", refresh_at=1, name=name
    )
    assert secret["metadata"]["name"] == name
    assert secret["metadata"]["annotations"][OBJECT_KIND_ANNOTATION] == TOKEN_SECRET_KIND
    assert token_secret_owner(T, secret) == ("shop", "web")
    assert is_token_secret(secret)
    # The host writer may write it (its own rule), though it is no tenant secret's copy.
    assert T.is_owned(secret, kind_string=SECRETS.kind_string)
    assert T.virtual_key_from_host(secret) is None
    tampers: list[Callable[[dict[str, Any]], None]] = [
        lambda s: s["metadata"].update(name="other"),
        lambda s: s["metadata"].update(namespace="elsewhere"),
        lambda s: s["metadata"]["labels"].update({MANAGED_BY_LABEL: "other-vc"}),
        lambda s: s["metadata"]["annotations"].update({OBJECT_NAME_ANNOTATION: "db"}),
        lambda s: s["metadata"]["annotations"].update(
            {OBJECT_KIND_ANNOTATION: SECRETS.kind_string}
        ),
    ]
    for tamper in tampers:
        changed = copy.deepcopy(secret)
        tamper(changed)
        assert token_secret_owner(T, changed) is None
    legacy = token_secret(translator=T, v_pod=V_POD, p_pod=P_POD, tokens={}, ca="", refresh_at=1)
    assert legacy["metadata"]["name"] == legacy_token_secret_host_name(T, V_POD)
    assert token_secret_owner(T, legacy) is None
    with pytest.raises(ValueError, match="not a token Secret name"):
        token_secret(
            translator=T, v_pod=V_POD, p_pod=P_POD, tokens={}, ca="", refresh_at=1, name="x"
        )


def _host_pod(*secret_sources: dict[str, Any]) -> dict[str, Any]:
    host = translate_pod(
        {**V_POD, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        translator=T,
        env=PodEnvironment(),
    )
    host["spec"]["volumes"] = [
        {"name": f"v{i}", "projected": {"sources": [{"secret": s}]}}
        for i, s in enumerate(secret_sources)
    ]
    return host


def test_mounted_token_secret_reads_what_the_host_pod_mounts() -> None:
    """New name first; the legacy name only when it is mounted for a token key."""
    new = token_secret_host_name(T, V_POD)
    legacy = legacy_token_secret_host_name(T, V_POD)
    token_item = [{"key": "token", "path": "token"}]
    translated = translate_pod(V_POD, translator=T, env=PodEnvironment(token_secret=new))
    assert mounted_token_secret(translated, translator=T) == new
    cases = [
        (_host_pod({"name": legacy, "items": token_item}), legacy),
        (_host_pod({"name": legacy, "items": [{"key": token_key("vault"), "path": "v"}]}), legacy),
        (_host_pod({"name": legacy, "items": token_item}, {"name": new, "items": []}), new),
        (_host_pod({"name": legacy, "items": [{"key": "password", "path": "p"}]}), None),
        (_host_pod({"name": legacy}), None),
        (_host_pod(), None),
        ({"metadata": {"name": "stranger"}}, None),
    ]
    for host, expected in cases:
        assert mounted_token_secret(host, translator=T) == expected
