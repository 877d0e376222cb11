"""Keeping a host pod's service-account token Secret created and renewed.

The Secret's content and naming are :mod:`mappers.tokens`; this module does
the I/O for the pods mapper (through the :class:`~syncer.api.SyncContext`).

Guarantees:

* the Secret renewed is the one the host pod actually mounts: a host pod's
  volumes are immutable, so a pod created under the earlier naming scheme
  (``<pod>-sa-token`` translated like a tenant's secret) keeps that name for
  life; a new pod gets :func:`new_token_secret_name`
  (:func:`mappers.tokens.token_secret_host_name`, a name no tenant object's
  host name can be);
* a Secret that is fresh (not due, owned by this host pod, holding every
  token the pod projects and the current virtual CA) is left alone and
  revisited when due;
* a Secret under that name that is not a token Secret of ours is never
  written: the create answers "already exists" and the pod is refused
  (``host_name_taken``, a Warning event) and looked at again after
  :data:`TOKEN_TAKEN_RETRY` seconds — by then a lost answer to our own create
  shows in the cache (our own create not yet cached is told apart for
  :data:`~syncer.kit.RECENT_SECONDS`);
* tokens come from TokenRequests against the *virtual* API server, bound to
  the virtual pod; renewal is due at 80 % of the shortest lifetime, or as soon
  as the Secret's CA is not the namespace's virtual ``kube-root-ca.crt`` (a
  Secret made before that configmap was cached is looked at again every
  :data:`CA_RETRY` seconds until it is);
* none of this depends on the secrets mapper: the host secrets cache the
  Secrets are read from is the pods mapper's own (``host_reads``).
"""

from __future__ import annotations

import time

from mappers.references import ROOT_CA_CONFIGMAP
from mappers.tokens import (
    CA_KEY,
    is_token_secret,
    mounted_token_secret,
    parse_time,
    refresh_after,
    service_account_of,
    token_request,
    token_secret,
    token_secret_fresh,
    token_secret_host_name,
    token_sources,
)
from syncer.api import (
    CONFIGMAPS,
    DONE,
    PODS,
    SECRETS,
    SERVICEACCOUNTS,
    AlreadyExists,
    Cache,
    NotFound,
    Obj,
    Refused,
    Result,
    SyncContext,
    Translator,
)
from syncer.kit import (
    CACHE_LAG_RETRY,
    RecentCreates,
    key_of_virtual,
    mapping,
    meta,
    namespace_of,
)

#: When to look again at a pod whose token Secret name is held by something else.
TOKEN_TAKEN_RETRY = 60.0
#: When to look again at a token Secret made before the virtual CA was cached.
CA_RETRY = 5.0


def host_secrets(ctx: SyncContext) -> Cache:
    """The host secrets cache (this vcluster's marker label), whichever kinds are enabled.

    The pods mapper declares it in ``host_reads``: the wiring runs it for pods
    themselves, so tokens never depend on the secrets mapper.
    """
    return ctx.host_cache(SECRETS)


def virtual_ca(ctx: SyncContext, v_pod: Obj) -> str:
    """The virtual CA bundle (PEM) of ``v_pod``'s namespace: its ``kube-root-ca.crt``
    (published by the virtual controller-manager), ``""`` while it is not cached."""
    root_ca = ctx.virtual_cache(CONFIGMAPS).get(namespace_of(v_pod), ROOT_CA_CONFIGMAP)
    return str(mapping(root_ca.get("data") if root_ca else None).get(CA_KEY) or "")


def new_token_secret_name(translator: Translator, v_pod: Obj) -> str:
    """The host name of the token Secret of a pod that has no host pod yet.

    :func:`mappers.tokens.token_secret_host_name`: a name no tenant object's host
    name can take (the host writer owns it by the translator's token rule).
    """
    return token_secret_host_name(translator, v_pod)


def mounted_token_secret_name(translator: Translator, v_pod: Obj, p_pod: Obj) -> str:
    """The host name of the token Secret host pod ``p_pod`` mounts (its volumes never change).

    :func:`mappers.tokens.mounted_token_secret`: the current name, or the legacy
    one for a pod created before the naming changed; the current name when the
    pod mounts neither (nothing to keep then).
    """
    mounted = mounted_token_secret(p_pod, translator=translator)
    return mounted if mounted is not None else new_token_secret_name(translator, v_pod)


class TokenKeeper:
    """Creates and renews the token Secrets of one pods mapper."""

    def __init__(self, *, translator: Translator) -> None:
        self.translator = translator
        self.recent = RecentCreates()

    async def ensure(self, ctx: SyncContext, v_pod: Obj, p_pod: Obj) -> Result:
        """Create or renew ``p_pod``'s token Secret; revisit when the token is due."""
        sources = token_sources(v_pod)
        if not sources:
            return DONE
        cache = host_secrets(ctx)
        key = key_of_virtual(PODS, v_pod)
        p_name = mounted_token_secret_name(self.translator, v_pod, p_pod)
        p_secret = cache.get(self.translator.host_namespace, p_name)
        if p_secret is not None and not is_token_secret(p_secret):
            p_secret = None  # a tenant's secret copy: never overwritten (the create says so)
        now = time.time()
        ca = virtual_ca(ctx, v_pod)
        if p_secret is not None:
            left = token_secret_fresh(p_secret, p_pod=p_pod, sources=sources, ca=ca, now=now)
            if left is not None:
                return Result(requeue_after=left if ca else min(left, CA_RETRY))
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
        body = token_secret(
            translator=self.translator,
            v_pod=v_pod,
            p_pod=p_pod,
            tokens=tokens,
            ca=ca,
            refresh_at=due,
            name=p_name,
        )
        if p_secret is None:
            try:
                await ctx.host.create(SECRETS, body=body)
            except AlreadyExists as exc:
                if self.recent.recent(key):
                    return CACHE_LAG_RETRY
                # Ours whose create answer was lost (the cache shows it by the retry), or
                # something else in the way: never overwritten, looked at again.
                raise Refused(
                    reason="host_name_taken",
                    message=f"host secret {p_name} for the service-account token is not ours",
                    retry_after=TOKEN_TAKEN_RETRY,
                ) from exc
            self.recent.remember(key)
        else:
            body["metadata"]["resourceVersion"] = meta(p_secret).get("resourceVersion")
            try:
                await ctx.host.update(SECRETS, current=p_secret, body=body)
            except NotFound:
                return Result(requeue=True)
        left = max(due - now, 1.0)
        return Result(requeue_after=left if ca else min(left, CA_RETRY))
