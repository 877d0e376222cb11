"""Secrets: synced to the host only while a synced virtual pod (or ingress) refers to them.

Guarantees: as for configmaps (:mod:`mappers.configmaps`) — ``data``, ``type``
and ``immutable`` are copied; a change of the immutable ``type``, or of the
content of an immutable secret, replaces the host copy.  Also:

* a virtual ``kubernetes.io/service-account-token`` secret becomes an
  ``Opaque`` host secret (the host's token controller would otherwise delete or
  fill it for a host service account of the same name);
* the host token Secrets the pods mapper keeps (:mod:`mappers.tokens`) are not
  this mapper's: it never maps, updates or deletes them, and never copies their
  marker label from a tenant's secret, so a tenant cannot disguise one as the other;
* while the ``ingresses.networking.k8s.io`` kind runs, a TLS secret an ingress
  names (``spec.tls[].secretName``) counts as referenced too (vcluster's rule):
  this mapper then watches virtual ingresses and asks the ingresses mapper's
  index (:data:`mappers.ingresses.SECRET_INDEX`), so the copy goes with the
  last pod *and* ingress that refers to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from mappers.ingresses import SECRET_INDEX as INGRESS_SECRET_INDEX
from mappers.ingresses import tls_secret_names
from mappers.referenced import PodReferencedCopySyncer, referenced_secrets
from mappers.references import SECRET_INDEX
from mappers.tokens import TOKEN_SECRET_LABEL, is_token_secret
from syncer.api import (
    INGRESSES,
    PODS,
    SECRETS,
    Cache,
    Caches,
    MapperConfig,
    Obj,
    ObjectKey,
    Resource,
    SyncContext,
    Translator,
)
from syncer.kit import (
    Json,
    index_value,
    mapping,
    name_of,
    namespace_of,
    without_annotations,
)

SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"
_SERVICE_ACCOUNT_ANNOTATIONS = (
    "kubernetes.io/service-account.name",
    "kubernetes.io/service-account.uid",
)


class SecretMapper(PodReferencedCopySyncer):
    index = SECRET_INDEX
    synced_fields = ("data", "type", "immutable")
    may_read: frozenset[Resource] = frozenset({PODS, INGRESSES})
    #: The virtual ingresses cache (``None`` while that kind is off); set by use_caches.
    _ingresses: Cache | None = None

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=SECRETS, translator=translator, config=config)
        self.with_ingresses = INGRESSES.qualified in (config or MapperConfig()).kinds

    def watches(self) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey]]]:
        watched = dict(super().watches())
        if self.with_ingresses:
            watched[INGRESSES] = self.keys_of_ingress
        return watched

    def keys_of_ingress(self, ingress: Obj) -> list[ObjectKey]:
        """The secrets an ingress names for TLS."""
        namespace = namespace_of(ingress)
        return [
            ObjectKey(SECRETS.plural, namespace, name) for name in sorted(tls_secret_names(ingress))
        ]

    def use_caches(self, *, caches: Caches) -> None:
        super().use_caches(caches=caches)
        if self.with_ingresses and caches.serves(INGRESSES):
            self._ingresses = caches.virtual(INGRESSES)

    def is_referenced(self, ctx: SyncContext, v_obj: Obj) -> bool:
        """Referred to by a virtual pod, or by an ingress while ingresses sync."""
        if super().is_referenced(ctx, v_obj):
            return True
        value = index_value(namespace_of(v_obj), name_of(v_obj))
        return self._ingresses is not None and self._ingresses.has_indexed(
            INGRESS_SECRET_INDEX, value
        )

    def is_managed(self, p_obj: Obj) -> bool:
        return not is_token_secret(p_obj) and super().is_managed(p_obj)

    def referenced_names(self, pod: Obj) -> Iterable[str]:
        return referenced_secrets(pod)

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        if not self.is_referenced(ctx, v_obj):
            return None
        if v_obj.get("type") == SERVICE_ACCOUNT_TOKEN_TYPE:
            v_obj = without_annotations(v_obj, _SERVICE_ACCOUNT_ANNOTATIONS)
        body: Json = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.host_metadata(v_obj, p_obj, drop_labels=(TOKEN_SECRET_LABEL,)),
        }
        for field in self.synced_fields:
            if field in v_obj:
                body[field] = v_obj[field] if field != "data" else dict(mapping(v_obj[field]))
        if body.get("type") == SERVICE_ACCOUNT_TOKEN_TYPE:
            body["type"] = "Opaque"
        return body

    def must_recreate(self, p_obj: Obj, desired: Json) -> bool:
        if (p_obj.get("type") or "Opaque") != (desired.get("type") or "Opaque"):
            return True
        return bool(p_obj.get("immutable")) and mapping(p_obj.get("data")) != mapping(
            desired.get("data")
        )


def make(*, translator: Translator, config: MapperConfig | None = None) -> SecretMapper:
    """Entry-point factory."""
    return SecretMapper(translator=translator, config=config)
