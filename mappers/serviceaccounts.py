"""ServiceAccounts: a host account per virtual one that synced pods run as (host identity).

An optional toHost kind (``serviceaccounts`` in ``VSYNCER_KINDS``), as vcluster's
``sync.toHost.serviceAccounts``: each host pod then runs as the host copy of its
own virtual service account (:mod:`mappers.podidentity`) instead of the shared
workload account, so host-side workload identity (a cloud IAM role bound to
one Kubernetes service account) can tell tenant workloads apart.  The pod's
*credentials* stay the virtual cluster's: the host pod never mounts the host
account's token (``automountServiceAccountToken: false`` on both), and its
projected token is the virtual account's (:mod:`mappers.podtokens`).

Guarantees:

* a host copy exists exactly while some virtual pod names the account
  (``spec.serviceAccountName``, ``default`` when unset, as the ServiceAccount
  admission writes it; the referenced-copy rule of
  :class:`syncer.kit.ReferencedCopySyncer` over :data:`SERVICE_ACCOUNT_INDEX`):
  made when the first pod comes, deleted with the last one or with the
  virtual account;
* name by the namespaced rule; labels and provenance as every copy
  (marker label, ``object-kind`` ``/v1, Kind=ServiceAccount``); the shared
  workload account is never taken for a copy (modified or deleted);
* annotations: only keys matching ``VSYNCER_SERVICE_ACCOUNT_ANNOTATIONS``
  (:data:`~syncer.kind_settings.DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS`: the
  workload-identity keys of EKS, GKE and Azure) are copied, every other one
  is left out (they configure nothing on the host);
* ``secrets``, ``imagePullSecrets`` and ``automountServiceAccountToken`` are
  not copied: the host account's token is never mounted (``false`` is set),
  no host secret is named for it, and the virtual admission already copied
  the account's pull secrets into each pod, whose translation renames them
  (:mod:`mappers.podspec`).

What an identity annotation can claim is bounded by the cloud side: an IAM
role, Google service account or Azure identity trusts one Kubernetes account
by namespace and name, and a tenant's accounts all live in the host namespace
under translated names, so a tenant can only assume identities the platform
bound to its own host accounts.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from syncer.api import PODS, SERVICEACCOUNTS, MapperConfig, Obj, Resource, SyncContext, Translator
from syncer.kit import Json, ReferencedCopySyncer, index_value, mapping, namespace_of

#: The index on the virtual pods store: ``ns/name`` of the service account each pod runs as.
SERVICE_ACCOUNT_INDEX = "vsyncer.pods/serviceaccount"


def pod_service_account(pod: Obj) -> str:
    """The virtual service account ``pod`` runs as (``default`` when unset)."""
    spec = mapping(pod.get("spec"))
    name = spec.get("serviceAccountName") or spec.get("serviceAccount")
    return name if isinstance(name, str) and name else "default"


def service_account_index(pod: Obj) -> list[str]:
    """The :data:`SERVICE_ACCOUNT_INDEX` value of ``pod``."""
    return [index_value(namespace_of(pod), pod_service_account(pod))]


def allowed_annotations(v_obj: Obj, *, allowed: tuple[str, ...]) -> Obj:
    """``v_obj`` with only the annotations whose key matches one of ``allowed``."""
    metadata = dict(mapping(v_obj.get("metadata")))
    annotations = mapping(metadata.get("annotations"))
    metadata["annotations"] = {
        key: value
        for key, value in annotations.items()
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed)
    }
    return {**v_obj, "metadata": metadata}


class ServiceAccountMapper(ReferencedCopySyncer):
    """Host accounts for the virtual ones pods run as (see the module)."""

    referrer = PODS
    index = SERVICE_ACCOUNT_INDEX
    reads: frozenset[Resource] = frozenset()
    may_read: frozenset[Resource] = frozenset({PODS})

    def __init__(self, *, translator: Translator, annotations: tuple[str, ...]) -> None:
        super().__init__(resource=SERVICEACCOUNTS, translator=translator)
        self.annotations = annotations

    def is_managed(self, p_obj: Obj) -> bool:
        """A copy of a virtual account; never the shared workload account (ours too, but made
        for no virtual object: :mod:`mappers.workloadsa`)."""
        return (
            super().is_managed(p_obj) and self.translator.virtual_key_from_host(p_obj) is not None
        )

    def referenced_names(self, referrer: Obj) -> Iterable[str]:
        return (pod_service_account(referrer),)

    def host_metadata(self, v_obj: Obj, p_obj: Obj | None = None, **kw: Any) -> Json:
        return super().host_metadata(
            allowed_annotations(v_obj, allowed=self.annotations), p_obj, **kw
        )

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        body = super().desired_host(ctx, v_obj, p_obj)
        if body is not None:
            body["automountServiceAccountToken"] = False
        return body

    def updated_host(self, p_obj: Obj, desired: Json) -> Json:
        body = super().updated_host(p_obj, desired)
        body["automountServiceAccountToken"] = False
        return body


def make(*, translator: Translator, config: MapperConfig | None = None) -> ServiceAccountMapper:
    """Entry-point factory."""
    config = config or MapperConfig()
    return ServiceAccountMapper(
        translator=translator, annotations=config.service_account_annotations
    )
