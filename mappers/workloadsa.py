"""The host service account synced pods run as: vcluster's workload service account.

A host pod names :func:`workload_account_name` as its ``serviceAccountName``
(``MapperConfig.workload_service_account``, by default
``vc-workload-<vcluster>`` as vcluster's chart names it) unless the
``serviceaccounts`` kind gives each virtual account a host copy
(:mod:`mappers.podidentity`), never the host
namespace's ``default``, which often carries privileges meant for something
else; host policies and cloud identities can then target tenant workloads.
``automountServiceAccountToken`` stays ``false`` on the host pod: it carries the
*virtual* token (:mod:`mappers.tokens`), never this account's.

Who creates the account: whoever deploys vsyncer may (vcluster's chart does);
if it is missing, vsyncer creates it.  Guarantees of :class:`WorkloadAccount`:

* before a host pod is created the account is known to exist: a live GET,
  and when it is missing a create of vsyncer's own — this vcluster's marker
  label, ``object-kind`` :data:`~syncer.api.WORKLOAD_SERVICE_ACCOUNT_KIND`
  (the host writer's ownership rule for it), ``automountServiceAccountToken:
  false`` — through the guarded host writer;
* an account someone else made is used as it is: vsyncer never updates or
  deletes a workload service account, its own included;
* once found or made it is not looked at again for :data:`CHECK_SECONDS`
  (concurrent reconciles share one check), unless the host rejects a pod
  because the account is gone (:meth:`WorkloadAccount.after_rejection`): then
  the next attempt, after :data:`RETRY_SECONDS`, makes it again;
* missing and not creatable (RBAC, quota, admission): the pod is refused
  (:class:`~syncer.api.Refused`, reason ``workload_service_account``: a
  Warning event on the virtual pod, ``vsyncer_refused_objects_total``) and
  looked at again after :data:`RETRY_SECONDS`, doubling up to
  :data:`RETRY_MAX_SECONDS` — never a crash loop.  A server error or 429 is
  raised as it is, for the engine's backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from syncer.api import (
    MANAGED_BY_LABEL,
    OBJECT_KIND_ANNOTATION,
    SERVICEACCOUNTS,
    WORKLOAD_SERVICE_ACCOUNT_KIND,
    AlreadyExists,
    Forbidden,
    Invalid,
    NotFound,
    Refused,
    SyncContext,
)
from syncer.kit import Json

CHECK_SECONDS = 60.0
RETRY_SECONDS = 10.0
RETRY_MAX_SECONDS = 300.0


def missing_account_retry(refusal: Refused, *, account: str, reason: str) -> Refused | None:
    """The refusal to raise instead of ``refusal`` when it is the host's rejection of a pod
    whose service account is missing, else ``None``.

    The ServiceAccount admission plugin rejects such a pod with "error looking up
    service account <namespace>/<name>"; ``account`` is the start of that
    ``<namespace>/<name>`` to match (a whole name, or ``<namespace>/`` for any).
    The result is ``Refused(reason=reason)`` with the same message, retried after
    :data:`RETRY_SECONDS` doubling to :data:`RETRY_MAX_SECONDS`.
    """
    if refusal.reason != "host_rejected" or f"service account {account}" not in refusal.message:
        return None
    return Refused(
        reason=reason,
        message=refusal.message,
        retry_after=RETRY_SECONDS,
        retry_max=RETRY_MAX_SECONDS,
        event_reason="SyncError",
    )


def workload_account_name(*, configured: str | None, vcluster: str) -> str:
    """The host service account's name: ``configured``, else ``vc-workload-<vcluster>``."""
    return configured or f"vc-workload-{vcluster}"


def workload_account(*, name: str, vcluster: str, host_namespace: str) -> Json:
    """The ServiceAccount vsyncer creates when none named ``name`` exists."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": host_namespace,
            "labels": {MANAGED_BY_LABEL: vcluster},
            "annotations": {OBJECT_KIND_ANNOTATION: WORKLOAD_SERVICE_ACCOUNT_KIND},
        },
        "automountServiceAccountToken": False,
    }


class WorkloadAccount:
    """Makes sure the host workload service account exists (see the module)."""

    def __init__(self, *, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._known_at: float | None = None
        self._lock = asyncio.Lock()

    def _known(self) -> bool:
        return self._known_at is not None and self._clock() - self._known_at < CHECK_SECONDS

    async def ensure(self, ctx: SyncContext) -> None:
        """Return once the account exists; raises :class:`Refused` when it cannot be made."""
        if self._known():
            return
        async with self._lock:
            if self._known():
                return
            if not await self._exists(ctx):
                await self._create(ctx)
            self._known_at = self._clock()

    def after_rejection(self, refusal: Refused, *, host_namespace: str) -> Refused:
        """The refusal to raise for a host pod the host rejected with ``refusal``.

        The ServiceAccount admission plugin rejects a pod whose account is missing
        ("error looking up service account <ns>/<name>"): the account went since
        it was last seen, so it is forgotten and the pod looked at again soon
        (reason ``workload_service_account``).  Any other refusal is returned as is.
        """
        account = f"{host_namespace}/{self.name}"
        retried = missing_account_retry(refusal, account=account, reason="workload_service_account")
        if retried is None:
            return refusal
        self._known_at = None
        return retried

    async def _exists(self, ctx: SyncContext) -> bool:
        if ctx.host_read is None:
            return False
        try:
            await ctx.host_read(SERVICEACCOUNTS, name=self.name)
        except (NotFound, Forbidden):
            return False  # missing, or not readable: the create tells
        return True

    async def _create(self, ctx: SyncContext) -> None:
        body = workload_account(
            name=self.name, vcluster=ctx.vcluster, host_namespace=ctx.host_namespace
        )
        try:
            await ctx.host.create(SERVICEACCOUNTS, body=body)
        except AlreadyExists:
            return  # made meanwhile, by us or by someone else: used as it is
        except (Forbidden, Invalid) as exc:
            raise Refused(
                reason="workload_service_account",
                message=(
                    f"host service account {ctx.host_namespace}/{self.name} is missing "
                    f"and cannot be created: {exc.message}"
                ),
                retry_after=RETRY_SECONDS,
                retry_max=RETRY_MAX_SECONDS,
                event_reason="SyncError",
            ) from exc
        if ctx.log is not None:
            ctx.log.info("created the host workload service account", name=self.name)
