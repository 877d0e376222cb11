"""The virtual service-account token of a pod, kept in a host Secret the syncer owns.

A virtual pod that projects a service-account token (the ``kube-api-access-*``
volume the ServiceAccount admission plugin adds, or any ``serviceAccountToken``
projection) must talk to the *virtual* API server, so its token comes from a
TokenRequest against the virtual API server, bound to the virtual pod.  The
tokens, the virtual cluster's CA bundle (``ca.crt``) and the virtual namespace
live in one host Secret per pod:

* named like the host copy of a virtual secret ``<pod>-sa-token`` (so it passes
  the host writer's ownership rules), labelled :data:`TOKEN_SECRET_LABEL` (the
  secrets mapper leaves such objects alone and never copies that label from a
  tenant's secret);
* owned (``ownerReferences``) by the host pod, so the host garbage collector
  removes it with the pod;
* refreshed when :data:`TOKEN_REFRESH_ANNOTATION` passes — at 80 % of the
  shortest token's lifetime, as the kubelet does.

Everything here is pure: building requests and the Secret, reading times.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from mappers.generic import Json, items, mapping, name_of, namespace_of, uid_of
from syncer.api import MANAGED_BY_LABEL, SECRETS, Obj, Translator

TOKEN_SECRET_LABEL = "vsyncer.dev/service-account-token"
TOKEN_REFRESH_ANNOTATION = "vsyncer.dev/token-refresh-after"
#: What the ServiceAccount admission plugin asks for; the API server's minimum is 600 s.
DEFAULT_EXPIRATION = 3607
MIN_EXPIRATION = 600
CA_KEY = "ca.crt"
NAMESPACE_KEY = "namespace"
REFRESH_FRACTION = 0.8


class TokenSource(NamedTuple):
    """One token a pod projects: the Secret key holding it, its audience, its lifetime."""

    key: str
    audience: str | None
    expiration: int


def token_key(audience: str | None) -> str:
    """The Secret key of the token for ``audience`` (``None``: the API server's own)."""
    if not audience:
        return "token"
    return "token-" + hashlib.sha256(audience.encode()).hexdigest()[:10]


def token_secret_name(pod_name: str) -> str:
    """The virtual-side name the host token Secret is translated from."""
    return f"{pod_name}-sa-token"


def token_sources(v_pod: Obj) -> list[TokenSource]:
    """Every distinct token the pod projects (shortest lifetime wins per audience)."""
    found: dict[str, TokenSource] = {}
    for volume in items(mapping(v_pod.get("spec")).get("volumes")):
        for source in items(mapping(mapping(volume).get("projected")).get("sources")):
            sat = mapping(mapping(source).get("serviceAccountToken"))
            if not sat:
                continue
            audience = sat.get("audience") or None
            seconds = sat.get("expirationSeconds")
            seconds = max(int(seconds) if seconds else DEFAULT_EXPIRATION, MIN_EXPIRATION)
            key = token_key(audience)
            if key not in found or seconds < found[key].expiration:
                found[key] = TokenSource(key, audience, seconds)
    return [found[key] for key in sorted(found)]


def service_account_of(v_pod: Obj) -> str:
    spec = mapping(v_pod.get("spec"))
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def token_request(v_pod: Obj, source: TokenSource) -> Json:
    """The TokenRequest for one token, bound to the virtual pod."""
    spec: Json = {
        "expirationSeconds": source.expiration,
        "boundObjectRef": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": name_of(v_pod),
            "uid": uid_of(v_pod),
        },
    }
    if source.audience:
        spec["audiences"] = [source.audience]
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def parse_time(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, or ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def format_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def refresh_after(*, issued: float, expires: float) -> float:
    """When to renew a token issued at ``issued`` that expires at ``expires``."""
    return issued + REFRESH_FRACTION * max(expires - issued, 0.0)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def token_secret(
    *,
    translator: Translator,
    v_pod: Obj,
    p_pod: Obj,
    tokens: Mapping[str, str],
    ca: str,
    refresh_at: float,
) -> Json:
    """The host Secret carrying ``tokens`` for ``v_pod``, owned by its host pod ``p_pod``."""
    v_namespace = namespace_of(v_pod)
    v_name = token_secret_name(name_of(v_pod))
    p_name = translator.host_name(v_namespace, v_name)
    labels = translator.translate_labels({}, namespace=v_namespace)
    labels[TOKEN_SECRET_LABEL] = "true"
    annotations = translator.provenance_annotations(
        kind_string=SECRETS.kind_string,
        namespace=v_namespace,
        name=v_name,
        uid=uid_of(v_pod),
        host_name=p_name,
    )
    annotations[TOKEN_REFRESH_ANNOTATION] = format_time(refresh_at)
    data = {key: _b64(token) for key, token in tokens.items()}
    data[CA_KEY] = _b64(ca)
    data[NAMESPACE_KEY] = _b64(v_namespace)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": p_name,
            "namespace": translator.host_namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": name_of(p_pod),
                    "uid": uid_of(p_pod),
                }
            ],
        },
        "data": data,
    }


def is_token_secret(p_obj: Obj) -> bool:
    labels = mapping(mapping(p_obj.get("metadata")).get("labels"))
    return labels.get(TOKEN_SECRET_LABEL) == "true" and MANAGED_BY_LABEL in labels


def token_secret_fresh(
    p_secret: Obj, *, p_pod: Obj, sources: list[TokenSource], now: float
) -> float | None:
    """Seconds until ``p_secret`` must be renewed, or ``None`` if it must be renewed now."""
    metadata = mapping(p_secret.get("metadata"))
    due = parse_time(mapping(metadata.get("annotations")).get(TOKEN_REFRESH_ANNOTATION))
    owners = {str(mapping(o).get("uid")) for o in items(metadata.get("ownerReferences"))}
    data: Any = mapping(p_secret.get("data"))
    complete = all(source.key in data for source in sources)
    if due is None or due <= now or uid_of(p_pod) not in owners or not complete:
        return None
    return due - now
