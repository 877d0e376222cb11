"""Secrets: synced to the host only while a synced virtual pod refers to them.

Guarantees: as for configmaps (:mod:`mappers.configmaps`) — ``data``, ``type``
and ``immutable`` are copied; a change of the immutable ``type``, or of the
content of an immutable secret, replaces the host copy.  Also:

* a virtual ``kubernetes.io/service-account-token`` secret becomes an
  ``Opaque`` host secret (the host's token controller would otherwise delete or
  fill it for a host service account of the same name);
* the host token Secrets the pods mapper keeps (:mod:`mappers.tokens`) are not
  this mapper's: it never maps, updates or deletes them, and never copies their
  marker label from a tenant's secret, so a tenant cannot disguise one as the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from mappers.referenced import PodReferencedCopySyncer, referenced_secrets
from mappers.references import SECRET_INDEX
from mappers.tokens import TOKEN_SECRET_LABEL, is_token_secret
from syncer.api import SECRETS, Obj, SyncContext, Translator
from syncer.kit import (
    Json,
    mapping,
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

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=SECRETS, translator=translator)

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


def make(*, translator: Translator) -> SecretMapper:
    """Entry-point factory."""
    return SecretMapper(translator=translator)
