"""Pods: the virtual pod runs as a host pod; what the host decides flows back up.

Guarantees (vcluster's pod rules; the translation itself is :mod:`mappers.podspec`):

* virtual only → the tenant boundary is checked first (:mod:`mappers.podguard`):
  a pod below the Pod Security level, referencing a host object that is not
  the copy of that very virtual object, or placed where the host scheduler
  would not put it (:mod:`mappers.podplacement`: nodeName, runtime class) is
  refused (:class:`~syncer.api.Refused`; nothing is written to the host), and
  one whose ambiguous references have no host copy yet waits for them (growing
  requeues, one Warning event).  Then what it runs as is made sure of
  (:mod:`mappers.podidentity`: it waits for the host copies of its toHost
  priority class and service account; the workload account is refused while
  it cannot exist), the
  host pod is created running as it — keeping a tenant-set ``nodeName`` — and
  its token Secret (:mod:`mappers.podtokens`, whichever kinds are enabled); a
  reference to a kind that is not enabled gets a Warning event
  (:mod:`mappers.unsyncedrefs`);
  a pod the host rejects (422/403) gets a Warning event and is dropped until
  it changes;
* both → in this order: a host pod made for an older virtual pod of the same
  name (other UID) is deleted; a terminating virtual pod deletes the host pod
  with the same grace period; a host pod terminating under a virtual pod that
  had started deletes the virtual pod (one that had not started waits to be
  recreated); a host ``nodeName`` the virtual pod lacks becomes a Binding;
  then status (keeping the virtual QoS class) goes up, label and annotation
  changes made on the host pod go up (a three-way merge in which the virtual
  side wins a conflict, :mod:`mappers.metamerge`), and the allowed spec and
  metadata changes go down — unless the virtual pod now falls below the Pod
  Security level: then nothing goes down and the pod is refused (its token is
  still renewed); the token is renewed when due;
* virtual only, host pod gone → if the virtual pod is terminating or had
  started, it is deleted (UID precondition, no grace: nothing runs it any
  more) — a started one only after a live host read confirms that its host
  pod is really gone, so a lagging host cache never costs a tenant's pod;
  otherwise the host pod is recreated;
* host only → an orphan: deleted once a live read confirms the virtual pod is gone;
* a bare pod marked by sleep mode → its host twin goes and none is made while
  the mark stays; a slept pod's terminating twin is waited for (:mod:`mappers.podsleep`).

The drift check compares what this reconcile would change: :mod:`mappers.poddrift`.
It also registers the pod → configmaps / secrets / PVCs / node indexes the
other mappers rely on (:mod:`mappers.references`).

A change of a virtual namespace revisits every pod in it (its labels are copied
onto the host pods).  The virtual API server's address is :mod:`mappers.podapi`'s
(the configured host Service, read by this mapper itself; unconfigured, the
virtual ``default/kubernetes``).  It, the ``kube-system/kube-dns`` cluster IP
and the virtual CA reach a pod at its next reconcile; a change there does not
by itself revisit every pod.  Nameserver precedence: the ``nameserver``
given to :class:`PodMapper`, else the virtual ``kube-system/kube-dns`` cluster
IP (the host's, once the services mapper aligned it), else
:data:`~mappers.podspec.DEFAULT_NAMESERVER`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from mappers.metamerge import merge_pod_metadata
from mappers.podapi import PodApiAddress, cluster_ip
from mappers.poddrift import PodDrift
from mappers.podguard import (
    PodSecurity,
    ReferenceWaits,
    unready_references,
    waiting_message,
)
from mappers.podidentity import IDENTITY_INDEXES, IDENTITY_READS, PodIdentity
from mappers.podplacement import PLACEMENT_READS, PodPlacement
from mappers.podsleep import put_to_sleep
from mappers.podspec import (
    DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_NAMESERVER,
    PodEnvironment,
    host_pod_metadata,
    host_pod_update,
    translate_pod,
)
from mappers.podstatus import binding, grace_period, status_for_virtual
from mappers.podstatus import has_started as has_started  # re-exported
from mappers.podstatus import virtual_status as virtual_status  # re-exported
from mappers.podtokens import TokenKeeper, new_token_secret_name
from mappers.references import (
    CONFIGMAP_INDEX,
    NODE_INDEX,
    PVC_INDEX,
    SECRET_INDEX,
    PodReferenceIndexes,
    index_node,
)
from mappers.tokens import token_sources
from mappers.unsyncedrefs import warn_unsynced
from syncer.api import (
    CONFIGMAPS,
    DONE,
    NAMESPACES,
    PODS,
    PVCS,
    SECRETS,
    SERVICES,
    IndexFunc,
    MapperConfig,
    NamespaceKeys,
    NotFound,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    Result,
    SyncContext,
    Translator,
    check_pod_security,
    is_sleep_marked,
    is_slept,
    keys_in_namespace,
)
from syncer.kit import (
    CACHE_LAG_RETRY,
    CopySyncer,
    Json,
    annotations_of,
    create_on_host,
    delete_on_host,
    delete_virtual,
    is_terminating,
    key_of_virtual,
    labels_of,
    mapping,
    meta,
    name_of,
    namespace_of,
    no_keys,
    uid_of,
    virtual_uid_of_host,
)

#: The virtual services whose cluster IPs the pods use (they carry the host IPs).
KUBERNETES_SERVICE = ("default", "kubernetes")
DNS_SERVICE = ("kube-system", "kube-dns")


class PodMapper(PodDrift, CopySyncer):
    """The pods mapper: translation in :mod:`mappers.podspec`, reconcile here.

    Every step carries on with the objects its writes return, so the watch
    events of those writes are not reconciled again (``skip_own_echoes``).
    """

    skip_own_echoes = True
    # Namespaces, services and configmaps are watched (their virtual caches run); the host
    # caches of secrets, configmaps and PVCs (references) and of nodes (placement) are read
    # while their mappers run; the host secrets cache of the token Secrets always runs.
    reads: frozenset[Resource] = frozenset()
    may_read = frozenset({SECRETS, CONFIGMAPS, PVCS}) | IDENTITY_READS | PLACEMENT_READS
    host_reads: frozenset[Resource] = frozenset({SECRETS})

    def __init__(
        self,
        *,
        translator: Translator,
        nameserver: str | None = None,
        cluster_domain: str = DEFAULT_CLUSTER_DOMAIN,
        security: PodSecurity | None = None,
        identity: PodIdentity | None = None,
        api: PodApiAddress | None = None,
        placement: PodPlacement | None = None,
    ) -> None:
        super().__init__(resource=PODS, translator=translator)
        self.nameserver = nameserver
        self.cluster_domain = cluster_domain
        self.security = security
        self.api = api or PodApiAddress(config=None)
        self.placement = placement or PodPlacement()
        self.identity = identity or PodIdentity.of(config=MapperConfig(), translator=translator)
        self.tokens = TokenKeeper(translator=translator)
        self.waits = ReferenceWaits()
        self._references = PodReferenceIndexes()

    # -- plugin capabilities ------------------------------------------------------------

    def indexes(self) -> Mapping[str, IndexFunc]:
        return {
            CONFIGMAP_INDEX: self._references.configmaps,
            SECRET_INDEX: self._references.secrets,
            PVC_INDEX: self._references.pvcs,
            NODE_INDEX: index_node,
            **IDENTITY_INDEXES,
        }

    def watches(
        self,
    ) -> Mapping[Resource, Callable[[Obj], Iterable[ObjectKey | NamespaceKeys]]]:
        # A namespace's labels are copied onto its host pods: its change revisits them all.
        # The API/DNS service IPs and the CA are read in every reconcile.
        return {NAMESPACES: keys_in_namespace, SERVICES: no_keys, CONFIGMAPS: no_keys}

    # -- reading the environment ------------------------------------------------------------

    def environment(self, ctx: SyncContext, v_pod: Obj) -> PodEnvironment:
        """What the translation of a *new* host pod needs from the caches, for this pod."""
        services = ctx.virtual_cache(SERVICES)
        api_host, api_port = self.api.for_pods(services.get(*KUBERNETES_SERVICE))
        namespace = ctx.virtual_cache(NAMESPACES).get("", namespace_of(v_pod))
        token = None
        if token_sources(v_pod):
            token = new_token_secret_name(self.translator, v_pod)
        nameserver = self.nameserver or cluster_ip(services.get(*DNS_SERVICE)) or DEFAULT_NAMESERVER
        return PodEnvironment(
            nameserver=nameserver,
            cluster_domain=self.cluster_domain,
            api_host=api_host,
            api_port=api_port,
            namespace_labels=dict(labels_of(namespace)) if namespace else {},
            token_secret=token,
            service_account=self.identity.service_account(v_pod),
            priority_class=self.identity.priority_class(v_pod),
        )

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        return self.host_pod(ctx, v_obj, p_obj)

    def host_pod(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json:
        """The host pod for ``v_obj`` in this cluster's current environment.

        A tenant-set ``nodeName`` stays: virtual and host never disagree on placement.
        """
        env = self.environment(ctx, v_obj)
        body = translate_pod(v_obj, translator=self.translator, env=env, p_pod=p_obj)
        node = mapping(v_obj.get("spec")).get("nodeName")
        if node:
            body["spec"]["nodeName"] = node
        return body

    # -- reconcile -------------------------------------------------------------------------------

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if is_sleep_marked(v_obj) and not is_terminating(v_obj):
            return DONE  # asleep: its host twin stays away until the mark goes
        if is_terminating(v_obj) or has_started(v_obj):
            if not is_terminating(v_obj) and await self._still_on_host(ctx, v_obj):
                return CACHE_LAG_RETRY  # the host cache lags: the pod still runs
            # The host pod is gone: nothing runs this pod any more.
            await delete_virtual(ctx, PODS, v_obj, grace_period_seconds=0)
            return DONE
        key = key_of_virtual(PODS, v_obj)
        refusal = self.security.refusal(v_obj) if self.security else None
        refusal = refusal or self.placement.refusal(ctx, v_obj)
        if refusal is not None:
            self.waits.forget(key)
            raise refusal
        try:
            waiting = await unready_references(ctx, v_obj)
        except Refused:
            self.waits.forget(key)
            raise
        if waiting:
            message = waiting_message(v_obj, waiting)
            return await self.waits.hold(ctx, v_obj, key=key, message=message)
        self.waits.forget(key)
        held = await self.identity.ensure(ctx, v_obj)  # a wait; refused while it cannot be
        if held is not None:
            return held
        await self.api.refresh(ctx)  # likewise the configured virtual API address
        body = self.host_pod(ctx, v_obj, None)
        try:
            created = await create_on_host(ctx, PODS, v_obj=v_obj, body=body, recent=self.recent)
        except Refused as rejected:
            replaced = self.identity.after_rejection(rejected, host_namespace=ctx.host_namespace)
            if replaced is rejected:
                raise
            raise replaced from rejected  # its account went: made again at the retry
        if created is None:
            return CACHE_LAG_RETRY
        await warn_unsynced(ctx, v_obj)
        try:
            return await self.ensure_token(ctx, v_obj, created)
        except NotFound:
            return DONE  # the virtual pod went meanwhile; its delete event brings us back

    async def _still_on_host(self, ctx: SyncContext, v_obj: Obj) -> bool:
        """A live read before a started tenant pod is deleted: does its host pod still exist?"""
        if ctx.host_read is None:
            return False
        p_name = self.translator.host_name(namespace_of(v_obj), name_of(v_obj))
        try:
            p_obj = await ctx.host_read(PODS, name=p_name)
        except NotFound:
            return False
        return self.is_managed(p_obj) and virtual_uid_of_host(p_obj) == uid_of(v_obj)

    async def sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        try:
            return await self._sync(ctx, v_obj, p_obj)
        except NotFound:
            return DONE  # one side vanished meanwhile; its delete event brings us back

    async def _sync(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Result:
        if virtual_uid_of_host(p_obj) != uid_of(v_obj):
            if not is_terminating(p_obj):  # made for an older pod of the same name
                await delete_on_host(ctx, PODS, p_obj)
            return DONE
        if is_terminating(v_obj):
            if not is_terminating(p_obj):
                await delete_on_host(ctx, PODS, p_obj, grace_period_seconds=grace_period(v_obj))
            return DONE
        if is_sleep_marked(v_obj):
            return await put_to_sleep(ctx, v_obj, p_obj)
        if is_terminating(p_obj):
            if (has_started(v_obj) or has_started(p_obj)) and not is_slept(v_obj):
                await delete_virtual(ctx, PODS, v_obj, grace_period_seconds=grace_period(p_obj))
            return DONE
        node = mapping(p_obj.get("spec")).get("nodeName")
        if node and not mapping(v_obj.get("spec")).get("nodeName"):
            await ctx.virtual.create_subresource(
                PODS,
                namespace=namespace_of(v_obj),
                name=name_of(v_obj),
                subresource="binding",
                body=binding(v_obj, str(node)),
            )
            return DONE  # the virtual update event brings us back for the status
        status = status_for_virtual(v_obj, p_obj)
        if status is not None:
            # Shallow: only "status" is replaced, nothing below the top is changed.
            body = {**v_obj, "status": status}
            v_obj = await ctx.virtual.update_status(
                PODS, namespace=namespace_of(v_obj), name=name_of(v_obj), body=body
            )
        v_obj = await self.merge_up(ctx, v_obj, p_obj)  # virtual first: see mappers.metamerge
        # Only metadata, images, deadline, tolerations and gates may change on a running
        # pod; none of the spec ones is translated, so the virtual spec stands in for the
        # translated one and the spec translation is skipped.
        desired = {
            "metadata": host_pod_metadata(
                v_obj, translator=self.translator, env=self.environment(ctx, v_obj), p_pod=p_obj
            ),
            "spec": mapping(v_obj.get("spec")),
        }
        updated = host_pod_update(p_obj, desired)
        if updated is not None:
            refusal = self.security.refusal(v_obj) if self.security else None
            if refusal is not None:
                # Not applied; the running pod keeps its token, and the renewal its revisit.
                kept = await self.ensure_token(ctx, v_obj, p_obj)
                raise Refused(
                    reason=refusal.reason,
                    message=f"{refusal.message}; the update is not applied",
                    retry_after=kept.requeue_after,
                )
            p_obj = await ctx.host.update(PODS, current=p_obj, body=updated)
        return await self.ensure_token(ctx, v_obj, p_obj)

    async def merge_up(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj) -> Obj:
        """Let label and annotation changes made on the host pod flow up; the virtual pod after."""
        merged = merge_pod_metadata(self.translator, v_obj, p_obj)
        if merged.labels == dict(labels_of(v_obj)) and merged.annotations == dict(
            annotations_of(v_obj)
        ):
            return v_obj
        body = {
            **v_obj,
            "metadata": {**meta(v_obj), "labels": merged.labels, "annotations": merged.annotations},
        }
        return await ctx.virtual.update(
            PODS, namespace=namespace_of(v_obj), name=name_of(v_obj), body=body
        )

    # sync_to_virtual (orphans) is CopySyncer's: live-confirmed, then deleted.

    async def ensure_token(self, ctx: SyncContext, v_pod: Obj, p_pod: Obj) -> Result:
        """Create or renew the token Secret ``p_pod`` mounts (:mod:`mappers.podtokens`)."""
        return await self.tokens.ensure(ctx, v_pod, p_pod)


def make(*, translator: Translator, config: MapperConfig | None = None) -> PodMapper:
    """Entry-point factory: pods are checked against ``config``'s Pod Security level."""
    config = config if config is not None else MapperConfig()
    security = PodSecurity(
        check=check_pod_security,
        level=config.pod_security_level,
        allow=config.pod_security_allow,
    )
    identity = PodIdentity.of(config=config, translator=translator)
    api = PodApiAddress(config=config)
    placement = PodPlacement(runtime_classes=config.pod_runtime_classes)
    return PodMapper(
        translator=translator, security=security, identity=identity, api=api, placement=placement
    )
