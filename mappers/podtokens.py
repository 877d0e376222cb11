"""Keeping a host pod's service-account token Secret created and renewed.

The Secret's content and naming are :mod:`mappers.tokens`; this module does
the I/O for the pods mapper (through the :class:`~syncer.api.SyncContext`).

Guarantees:

* the Secret renewed is the one the host pod actually mounts: a host pod's
  volumes are immutable, so a pod created under an earlier naming scheme keeps
  its Secret's name for life; a new pod gets the current name;
* a Secret that is fresh (not due, owned by this host pod, holding every
  token the pod projects) is left alone and revisited when due;
* a Secret under that name that is not a token Secret of ours is never
  written: the create answers "already exists" and the pod gets a Warning
  event (our own create not yet in the cache is told apart for
  :data:`~mappers.copysync.RECENT_SECONDS`);
* tokens come from TokenRequests against the *virtual* API server, bound to
  the virtual pod; renewal is due at 80 % of the shortest lifetime.
"""

from __future__ import annotations

import time
from typing import Any

from mappers.copysync import CACHE_LAG_RETRY, RecentCreates
from mappers.generic import (
    Json,
    items,
    key_of_virtual,
    mapping,
    meta,
    name_of,
    namespace_of,
    uid_of,
)
from mappers.references import ROOT_CA_CONFIGMAP
from mappers.tokens import (
    is_token_secret,
    parse_time,
    refresh_after,
    service_account_of,
    token_request,
    token_secret,
    token_secret_fresh,
    token_secret_name,
    token_sources,
)
from syncer.api import (
    CONFIGMAPS,
    DONE,
    PODS,
    SECRETS,
    SERVICEACCOUNTS,
    AlreadyExists,
    NotFound,
    Obj,
    Result,
    SyncContext,
    Translator,
)


def host_secrets(ctx: SyncContext) -> Any:
    """The host secrets cache, or ``None`` while the secrets mapper is off (then no tokens)."""
    try:
        return ctx.host_cache(SECRETS)
    except KeyError:
        return None


def new_token_secret_name(translator: Translator, v_pod: Obj) -> str:
    """The host name of the token Secret of a pod that has no host pod yet."""
    return translator.host_name(namespace_of(v_pod), token_secret_name(name_of(v_pod)))


def legacy_token_secret_name(translator: Translator, v_pod: Obj) -> str:
    """The host name pods created before the current naming scheme mount."""
    return translator.host_name(namespace_of(v_pod), token_secret_name(name_of(v_pod)))


def projected_secrets(p_pod: Obj) -> set[str]:
    """The names of the secrets ``p_pod``'s projected volumes read."""
    names: set[str] = set()
    for volume in items(mapping(p_pod.get("spec")).get("volumes")):
        for source in items(mapping(mapping(volume).get("projected")).get("sources")):
            name = mapping(mapping(source).get("secret")).get("name")
            if isinstance(name, str) and name:
                names.add(name)
    return names


def mounted_token_secret_name(translator: Translator, v_pod: Obj, p_pod: Obj) -> str:
    """The host name of the token Secret host pod ``p_pod`` mounts (its volumes never change).

    The current name when the pod projects it; else the legacy name when the pod
    projects that (a pod created before the naming changed); else the current one.
    """
    mounted = projected_secrets(p_pod)
    current = new_token_secret_name(translator, v_pod)
    legacy = legacy_token_secret_name(translator, v_pod)
    if current not in mounted and legacy in mounted:
        return legacy
    return current


class TokenKeeper:
    """Creates and renews the token Secrets of one pods mapper."""

    def __init__(self, *, translator: Translator) -> None:
        self.translator = translator
        self.recent = RecentCreates()

    async def ensure(self, ctx: SyncContext, v_pod: Obj, p_pod: Obj) -> Result:
        """Create or renew ``p_pod``'s token Secret; revisit when the token is due."""
        sources = token_sources(v_pod)
        cache = host_secrets(ctx)
        if not sources or cache is None:
            return DONE
        key = key_of_virtual(PODS, v_pod)
        p_name = mounted_token_secret_name(self.translator, v_pod, p_pod)
        p_secret = cache.get(self.translator.host_namespace, p_name)
        if p_secret is not None and not is_token_secret(p_secret):
            p_secret = None  # a tenant's secret copy: never overwritten (the create says so)
        now = time.time()
        if p_secret is not None:
            left = token_secret_fresh(p_secret, p_pod=p_pod, sources=sources, now=now)
            if left is not None:
                return Result(requeue_after=left)
        tokens: dict[str, str] = {}
        due = float("inf")
        for source in sources:
            answer = await ctx.virtual.create_subresource(
                SERVICEACCOUNTS,
                namespace=namespace_of(v_pod),
                name=service_account_of(v_pod),
                subresource="token",
                body=token_request(v_pod, source),
            )
            status = mapping(answer.get("status"))
            tokens[source.key] = str(status.get("token") or "")
            expires = parse_time(status.get("expirationTimestamp")) or now + source.expiration
            due = min(due, refresh_after(issued=now, expires=expires))
        root_ca = ctx.virtual_cache(CONFIGMAPS).get(namespace_of(v_pod), ROOT_CA_CONFIGMAP)
        ca = str(mapping(root_ca.get("data") if root_ca else None).get("ca.crt") or "")
        body = token_secret(
            translator=self.translator,
            v_pod=v_pod,
            p_pod=p_pod,
            tokens=tokens,
            ca=ca,
            refresh_at=due,
        )
        if meta(body).get("name") != p_name:
            body = self._renamed(body, v_pod, p_name)
        if p_secret is None:
            try:
                await ctx.host.create(SECRETS, body=body)
            except AlreadyExists:
                if self.recent.recent(key):
                    return CACHE_LAG_RETRY
                await ctx.record_event(
                    v_pod,
                    type_="Warning",
                    reason="SyncError",
                    message=f"host secret {p_name} for the service-account token is not ours",
                    kind="Pod",
                )
                return DONE
            self.recent.remember(key)
        else:
            body["metadata"]["resourceVersion"] = meta(p_secret).get("resourceVersion")
            try:
                await ctx.host.update(SECRETS, current=p_secret, body=body)
            except NotFound:
                return Result(requeue=True)
        return Result(requeue_after=max(due - now, 1.0))

    def _renamed(self, body: Json, v_pod: Obj, p_name: str) -> Json:
        """``body`` under the legacy name ``p_name``, with provenance that re-translates to it."""
        namespace = namespace_of(v_pod)
        metadata = dict(body["metadata"])
        metadata["name"] = p_name
        metadata["annotations"] = {
            **metadata.get("annotations", {}),
            **self.translator.provenance_annotations(
                kind_string=SECRETS.kind_string,
                namespace=namespace,
                name=token_secret_name(name_of(v_pod)),
                uid=uid_of(v_pod),
                host_name=p_name,
            ),
        }
        return {**body, "metadata": metadata}
