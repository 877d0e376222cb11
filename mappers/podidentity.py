"""What a host pod runs as beyond its spec: its host service account and priority class.

:class:`PodIdentity` answers, for a virtual pod, the host ``serviceAccountName``
and ``priorityClassName`` (:mod:`mappers.podspec` writes them), and holds a new
pod back while the host object it will name is not there yet.

Priority classes (``priorityClassName``; ``priority`` and ``preemptionPolicy``
are never copied: the host's admission derives them from the class), as
vcluster's pod translator:

* toHost classes on (``VSYNCER_TO_HOST_PRIORITY_CLASSES``): the host copy's name
  (:func:`mappers.priorityclasses_tohost.host_priority_class_name`); a
  ``system-`` class keeps its name (the host's own).  Until this vcluster's
  copy of exactly that class is in the host cache the pod is not created: it
  waits (growing requeues, one Warning event ``WaitingForReferences``), as pods
  wait for an ambiguous reference's copy — a class refused for its value
  keeps it waiting until the tenant replaces the class;
* fromHost classes on (the kind in ``VSYNCER_KINDS``): the name as it is (the
  virtual classes are the host's);
* neither: no class (the host's global default applies), as before classes synced.

Service accounts (``serviceAccountName``; the host pod never mounts the host
account's token, its projected token is the virtual account's):

* the ``serviceaccounts`` kind on: the host copy of the pod's own virtual
  account (:mod:`mappers.serviceaccounts`, name by the namespaced rule); the
  pod waits, as for a class, until this vcluster's copy of exactly that
  account is in the host cache (the copy is made because the pod names it);
  a host rejection for a missing account is retried after
  :data:`~mappers.workloadsa.RETRY_SECONDS` (``service_account``);
* off: the shared host workload account (:mod:`mappers.workloadsa`), made
  sure of before the pod is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from mappers.podguard import ReferenceWaits
from mappers.priorityclasses_tohost import host_priority_class_name, is_system_class
from mappers.serviceaccounts import (
    SERVICE_ACCOUNT_INDEX,
    pod_service_account,
    service_account_index,
)
from mappers.workloadsa import WorkloadAccount, missing_account_retry, workload_account_name
from syncer.api import (
    PODS,
    PRIORITYCLASSES,
    SERVICEACCOUNTS,
    IndexFunc,
    MapperConfig,
    Obj,
    Refused,
    Result,
    SyncContext,
    Translator,
)
from syncer.kit import key_of_virtual, mapping, name_of, namespace_of


class PriorityClasses(Enum):
    """Which way priority classes sync, so what a host pod's ``priorityClassName`` is."""

    NONE = "none"  # not synced: dropped
    FROM_HOST = "fromHost"  # the host's classes shown in virtual: kept
    TO_HOST = "toHost"  # the tenant's classes copied down: renamed

    @classmethod
    def of(cls, config: MapperConfig) -> PriorityClasses:
        """The direction ``config`` asks for."""
        if config.to_host_priority_classes:
            return cls.TO_HOST
        if PRIORITYCLASSES.qualified in config.kinds:
            return cls.FROM_HOST
        return cls.NONE


def priority_class_name(v_pod: Obj) -> str | None:
    """The virtual pod's ``spec.priorityClassName``, if it names one."""
    name = mapping(v_pod.get("spec")).get("priorityClassName")
    return name if isinstance(name, str) and name else None


#: The host caches :class:`PodIdentity` reads, while their kinds run (the pods mapper's may_read).
IDENTITY_READS = frozenset({PRIORITYCLASSES, SERVICEACCOUNTS})
#: The index the pods mapper keeps for the serviceaccounts kind (which accounts pods use).
IDENTITY_INDEXES: Mapping[str, IndexFunc] = MappingProxyType(
    {SERVICE_ACCOUNT_INDEX: service_account_index}
)


@dataclass
class PodIdentity:
    """The host service account and priority class of synced pods (see the module)."""

    translator: Translator
    workload: WorkloadAccount
    priority_classes: PriorityClasses = PriorityClasses.NONE
    service_accounts: bool = False
    waits: ReferenceWaits = field(default_factory=ReferenceWaits)

    @classmethod
    def of(cls, *, config: MapperConfig, translator: Translator) -> PodIdentity:
        """The identity rules ``config`` asks for."""
        name = workload_account_name(
            configured=config.workload_service_account, vcluster=translator.vcluster
        )
        return cls(
            translator=translator,
            workload=WorkloadAccount(name=name),
            priority_classes=PriorityClasses.of(config),
            service_accounts=SERVICEACCOUNTS.qualified in config.kinds,
        )

    def service_account(self, v_pod: Obj) -> str:
        """The host ``serviceAccountName`` of ``v_pod``'s host pod."""
        if not self.service_accounts:
            return self.workload.name
        return self.translator.host_name(namespace_of(v_pod), pod_service_account(v_pod))

    def priority_class(self, v_pod: Obj) -> str | None:
        """The host ``priorityClassName`` of ``v_pod``'s host pod; ``None``: none."""
        name = priority_class_name(v_pod)
        if name is None or self.priority_classes is PriorityClasses.NONE:
            return None
        if self.priority_classes is PriorityClasses.FROM_HOST:
            return name
        return host_priority_class_name(name, translator=self.translator)

    def missing(self, ctx: SyncContext, v_pod: Obj) -> list[str]:
        """What ``v_pod``'s host pod would name that the host does not have yet, as
        ``field: what`` lines (empty: nothing missing).  Reads the host caches only."""
        missing = self._missing_account(ctx, v_pod)
        name = priority_class_name(v_pod)
        if (
            name is None
            or self.priority_classes is not PriorityClasses.TO_HOST
            or is_system_class(name)
        ):
            return missing
        p_obj = ctx.host_cache(PRIORITYCLASSES).get("", self.translator.host_cluster_name(name))
        if p_obj is not None and self.translator.virtual_key_from_host(p_obj) == ("", name):
            return missing
        return [
            *missing,
            f"spec.priorityClassName: priority class '{name}' is not synced to the host yet",
        ]

    def _missing_account(self, ctx: SyncContext, v_pod: Obj) -> list[str]:
        if not self.service_accounts:
            return []
        namespace, name = namespace_of(v_pod), pod_service_account(v_pod)
        p_name = self.translator.host_name(namespace, name)
        p_obj = ctx.host_cache(SERVICEACCOUNTS).get(self.translator.host_namespace, p_name)
        if p_obj is not None and self.translator.virtual_key_from_host(p_obj) == (namespace, name):
            return []
        return [f"spec.serviceAccountName: service account '{name}' is not synced to the host yet"]

    async def ensure(self, ctx: SyncContext, v_pod: Obj) -> Result | None:
        """``None`` once ``v_pod``'s host pod may be created, else the wait to return.

        A host object it will name that is missing makes it wait: the first
        wait of a pod (per UID) records a Warning event ``WaitingForReferences``
        naming what is missing; the waits grow as
        :class:`~mappers.podguard.ReferenceWaits`'.  Then the workload account
        is made sure of (:meth:`WorkloadAccount.ensure`: :class:`Refused`, retried,
        while it cannot exist).
        """
        key = key_of_virtual(PODS, v_pod)
        missing = self.missing(ctx, v_pod)
        if missing:
            message = f"pod {name_of(v_pod)} waits: {'; '.join(missing)}"
            return await self.waits.hold(ctx, v_pod, key=key, message=message)
        self.waits.forget(key)
        if not self.service_accounts:
            await self.workload.ensure(ctx)
        return None

    def after_rejection(self, refusal: Refused, *, host_namespace: str) -> Refused:
        """The refusal to raise for a host pod the host rejected with ``refusal``: one for a
        missing account (it went since the cache saw it) is retried soon; others as they are."""
        if not self.service_accounts:
            return self.workload.after_rejection(refusal, host_namespace=host_namespace)
        retried = missing_account_retry(
            refusal, account=f"{host_namespace}/", reason="service_account"
        )
        return refusal if retried is None else retried
