"""The drift check of pods: what the pods reconcile would still change, found without writing.

:class:`PodDrift` gives the pods mapper its :class:`~syncer.api.DriftDetector`
``drift(ctx, v_obj, p_obj)``: pure (caches only, no I/O, no clock).  It
names what the reconcile (:mod:`mappers.pods`) would change, by the same
decisions in the same order, and is ``None`` when it would change nothing
(except for the cases under "Not drift" below):

* no host pod → ``missing``, unless the virtual pod is terminating or had
  started (its host pod is gone after it ran: the reconcile deletes the
  virtual pod after a live read, on the host delete event or the stale-cache
  check; the drift check does not second-guess that path), is refused (Pod
  Security level, a ``nodeName`` the host lacks: never synced on purpose), or
  waits for the host copy of an ambiguous reference (:mod:`mappers.podguard`);
* either side terminating → ``None`` (in flight: its events bring the key back);
* a bare pod sleep mode marked (:mod:`mappers.podsleep`) → ``None`` without a
  host twin (it sleeps: nothing is missing), else the mark (its twin is due to go);
* a host pod made for an older virtual pod (other UID) → its ``object-uid``;
* a host ``nodeName`` the virtual pod lacks → ``spec.nodeName`` (a Binding is due);
* the virtual status differing from the host's → the first differing
  ``status`` field (:func:`~mappers.podstatus.status_for_virtual`);
* a label or annotation changed on the host that flows up
  (:func:`~mappers.metamerge.merge_pod_metadata`) → that key;
* the host metadata or the allowed spec fields (images, activeDeadlineSeconds,
  tolerations, scheduling gates) differing from what the virtual pod wants →
  the first differing field, by :func:`~mappers.podspec.host_pod_update`, the
  check the reconcile itself uses; keys others add on the host outside the
  merge (e.g. under ``vcluster.loft.sh/``) are kept by the reconcile and do
  not count; an update of a pod that is now below the Pod Security level is
  refused on purpose and does not count either;
* the token Secret the host pod mounts missing from the host cache → its name.

Cost per pod and pass, in the common case (nothing differs): the status and
metadata comparisons of a no-op reconcile, minus the three-way merge when both
sides already agree on every key it takes; the pod spec is never translated.
Not drift: a token Secret merely due for renewal (its requeue renews it), and
what only a live read can see (a foreign object under a reference's or the
token Secret's host name: the reconcile refuses or reports it, and the engine
holds the key).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from mappers.collisions import cached_host, holds, is_ambiguous
from mappers.metamerge import annotation_sides, label_sides, merge_pod_metadata
from mappers.podguard import PodSecurity, node_refusal, references
from mappers.podspec import PodEnvironment, host_pod_metadata, host_pod_update
from mappers.podstatus import has_started, status_for_virtual
from mappers.podtokens import host_secrets, mounted_token_secret_name
from mappers.tokens import is_token_secret, token_sources
from syncer.api import (
    OBJECT_UID_ANNOTATION,
    SLEEP_POD_MARK,
    Obj,
    SyncContext,
    Translator,
    is_sleep_marked,
)
from syncer.kit import (
    annotations_of,
    is_terminating,
    labels_of,
    mapping,
    namespace_of,
    uid_of,
    virtual_uid_of_host,
)


def first_difference(want: Any, have: Any, *, path: str) -> str:
    """The path of the first place ``want`` and ``have`` differ, below ``path``.

    Mappings are compared key by key (``want``'s order, then keys only ``have``
    has; a key is appended as ``.key``, or
    as ``[key]`` when it is not a plain identifier, e.g. a label key), lists of
    equal length item by item (``[i]``); anything else differing is ``path``
    itself.  ``path`` when they are equal.
    """
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        for key in [*want, *(k for k in have if k not in want)]:
            if want.get(key) != have.get(key):
                step = f".{key}" if str(key).isidentifier() else f"[{key}]"
                step = step.lstrip(".") if not path else step
                return first_difference(want.get(key), have.get(key), path=path + step)
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for index, (w, h) in enumerate(zip(want, have, strict=True)):
            if w != h:
                return first_difference(w, h, path=f"{path}[{index}]")
    return path


def waits_for_references(ctx: SyncContext, v_pod: Obj) -> bool:
    """Whether the reconcile would hold ``v_pod`` back for a reference's host copy.

    The cache's view of :func:`mappers.podguard.unready_references`: an
    ambiguous reference without a cached host copy makes the pod wait, and a
    cached host object that is not that reference's copy refuses it.
    """
    namespace = namespace_of(v_pod)
    for ref in references(v_pod):
        p_name = ctx.translator.host_name(namespace, ref.name)
        p_obj = cached_host(ctx, ref.resource, p_name)
        if p_obj is None:
            if is_ambiguous(ctx.translator, namespace, ref.name):
                return True
        elif is_token_secret(p_obj) or not holds(
            ctx.translator, p_obj, resource=ref.resource, namespace=namespace, name=ref.name
        ):
            return True
    return False


def token_secret_drift(
    ctx: SyncContext, *, translator: Translator, v_pod: Obj, p_pod: Obj
) -> str | None:
    """``"token Secret <name>: missing"`` when the Secret ``p_pod`` mounts is not cached.

    Only for a pod that projects tokens.  A cached object under that name counts
    as present: one that is not a token Secret of ours is never written anyway.
    """
    if not token_sources(v_pod):
        return None
    cache = host_secrets(ctx)
    name = mounted_token_secret_name(translator, v_pod, p_pod)
    if cache.get(translator.host_namespace, name) is not None:
        return None
    return f"token Secret {name}: missing"


class PodDrift(abc.ABC):
    """Mixin: the pods mapper's ``drift`` (see the module docstring).

    The class it is mixed into provides the translator, the Pod Security
    check and :meth:`environment` (the pods mapper does).
    """

    translator: Translator
    security: PodSecurity | None

    @abc.abstractmethod
    def environment(self, ctx: SyncContext, v_pod: Obj) -> PodEnvironment:
        """What the host metadata of ``v_pod`` needs from the caches (the pods mapper's)."""

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """What the pods reconcile would change, as a field path; ``None`` if nothing.

        Pure: reads the caches through ``ctx``, writes nothing.
        """
        if is_terminating(v_obj):
            return None
        if is_sleep_marked(v_obj):
            if p_obj is None or is_terminating(p_obj):
                return None
            return f"metadata.annotations[{SLEEP_POD_MARK}]: the host pod of a sleeping pod"
        if p_obj is None:
            return None if self._held_back(ctx, v_obj) else "missing"
        if is_terminating(p_obj):
            return None
        if virtual_uid_of_host(p_obj) != uid_of(v_obj):
            return f"metadata.annotations[{OBJECT_UID_ANNOTATION}]: a copy of an earlier pod"
        node = mapping(p_obj.get("spec")).get("nodeName")
        if node and not mapping(v_obj.get("spec")).get("nodeName"):
            return "spec.nodeName: the host placed the pod"
        status = status_for_virtual(v_obj, p_obj)
        if status is not None:
            return first_difference(status, mapping(v_obj.get("status")), path="status")
        return (
            self._metadata_drift(v_obj, p_obj)
            or self._update_drift(ctx, v_obj, p_obj)
            or token_secret_drift(ctx, translator=self.translator, v_pod=v_obj, p_pod=p_obj)
        )

    def _held_back(self, ctx: SyncContext, v_pod: Obj) -> bool:
        """Whether the reconcile would not create a host pod for ``v_pod`` now."""
        if has_started(v_pod):
            return True
        if self.security is not None and self.security.refusal(v_pod) is not None:
            return True
        return node_refusal(ctx, v_pod) is not None or waits_for_references(ctx, v_pod)

    def _metadata_drift(self, v_pod: Obj, p_pod: Obj) -> str | None:
        """The first label or annotation changed on the host that would flow up."""
        labels, annotations = (
            label_sides(self.translator, v_pod, p_pod),
            annotation_sides(v_pod, p_pod),
        )
        if labels.virtual == labels.host and annotations.virtual == annotations.host:
            return None  # the common case: both sides agree on every key the merge takes
        merged = merge_pod_metadata(self.translator, v_pod, p_pod)
        for part, want, have in (
            ("labels", merged.labels, labels_of(v_pod)),
            ("annotations", merged.annotations, annotations_of(v_pod)),
        ):
            if want != have:
                where = first_difference(want, have, path=f"metadata.{part}")
                return f"{where}: changed on the host"
        return None

    def _update_drift(self, ctx: SyncContext, v_pod: Obj, p_pod: Obj) -> str | None:
        """The first host field the reconcile's update would change (metadata, allowed spec)."""
        # As the reconcile does: the virtual spec stands in for the translated one.
        env = self.environment(ctx, v_pod)
        desired = {
            "metadata": host_pod_metadata(v_pod, translator=self.translator, env=env, p_pod=p_pod),
            "spec": mapping(v_pod.get("spec")),
        }
        updated = host_pod_update(p_pod, desired)
        if updated is None:
            return None
        if self.security is not None and self.security.refusal(v_pod) is not None:
            return None  # refused: the update is not applied on purpose
        return first_difference(updated, p_pod, path="")
