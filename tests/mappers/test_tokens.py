"""The virtual service-account token Secret: sources, request, secret shape and freshness."""

from __future__ import annotations

import base64
from typing import Any

from mappers.tokens import (
    CA_KEY,
    MIN_EXPIRATION,
    TOKEN_REFRESH_ANNOTATION,
    TokenSource,
    format_time,
    is_token_secret,
    parse_time,
    refresh_after,
    service_account_of,
    token_key,
    token_request,
    token_secret,
    token_secret_fresh,
    token_sources,
)
from syncer.api import SECRETS
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
    assert token_secret_fresh(secret, p_pod=P_POD, sources=sources, now=1000) == 1000
    assert token_secret_fresh(secret, p_pod=P_POD, sources=sources, now=2000) is None
    other_pod = {"metadata": {"uid": "other"}}
    assert token_secret_fresh(secret, p_pod=other_pod, sources=sources, now=1000) is None
    more = [*sources, TokenSource("token-x", "x", 600)]
    assert token_secret_fresh(secret, p_pod=P_POD, sources=more, now=1000) is None
    assert secret["metadata"]["annotations"][TOKEN_REFRESH_ANNOTATION] == format_time(2000)


def test_times() -> None:
    """RFC 3339 round trip; renewal at 80 % of the lifetime."""
    assert parse_time(format_time(1_700_000_000)) == 1_700_000_000
    assert parse_time("garbage") is None
    assert parse_time(None) is None
    assert refresh_after(issued=0, expires=1000) == 800
