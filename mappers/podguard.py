"""The tenant boundary a virtual pod must respect before it runs as a host pod.

Three rules (README "Security"), each a
:class:`~syncer.api.Refused` with a snake_case reason and a message that names
the field:

* **Pod security** (``pod_security``): the virtual pod must meet the configured
  Pod Security Standards level; any violation refuses it, naming the first
  violation and how many more there are.  Only a change of the pod lifts it
  (``retry_after=None``).
* **References keep provenance** (``reference_collision``): every secret,
  configmap and PVC the pod references (:func:`mappers.references.pod_references`;
  the token Secret and ``kube-root-ca.crt`` are handled elsewhere) must, if a
  host object exists under its host name, be this vcluster's copy of exactly
  that virtual object — same virtual namespace, same name, made by the copy
  mapper (a pod's token Secret never counts as a tenant's secret).  Anything
  else refuses the pod for :data:`COLLISION_RETRY` seconds (the colliding
  object may go).  A reference whose host copy does not exist yet is fine when
  its host name is unambiguous; when another virtual object could share the
  name (:func:`mappers.collisions.is_ambiguous`) the pod waits for the copy
  instead, so that it can never mount another namespace's object later.
* **Tenant-set nodeName** (``node_name``): a pod that arrives bound to a node
  is honoured only if that node exists on the host.  It is looked up in the
  host nodes cache, which exists while the nodes mapper runs; without it a
  node cannot be known missing (nodes are cluster-scoped, live host reads are
  namespaced), so this check passes the pod (and :mod:`mappers.podplacement`
  refuses it: the node's taints cannot be checked either).  Refused pods
  are revisited after :data:`NODE_RETRY` seconds (a node may join).

Everything here only reads (caches; live host GETs where the runtime watches no cache
of a kind's unmarked host objects); nothing writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mappers.collisions import holds, is_ambiguous, read_host
from mappers.references import pod_references
from mappers.tokens import is_token_secret
from syncer.api import (
    CONFIGMAPS,
    NODES,
    PVCS,
    SECRETS,
    Obj,
    ObjectKey,
    Refused,
    Resource,
    Result,
    SyncContext,
)
from syncer.kit import mapping, name_of, namespace_of, uid_of

#: Seconds after which a pod refused for a colliding reference or a missing node is revisited.
COLLISION_RETRY = 60.0
NODE_RETRY = 60.0
#: Growing waits for an ambiguous reference's host copy: first, factor, cap (seconds).
WAIT_FIRST, WAIT_FACTOR, WAIT_CAP = 1.0, 2.0, 30.0


class Violation(Protocol):
    """One Pod Security Standards violation, as :mod:`syncer.api`'s checker reports it."""

    @property
    def field(self) -> str: ...
    @property
    def message(self) -> str: ...


class PodSecurityCheck(Protocol):
    """``check_pod_security(pod, *, level, allow)``: the violations of ``pod``, in field order."""

    def __call__(self, pod: Obj, *, level: str, allow: tuple[str, ...]) -> Sequence[Violation]: ...


@dataclass(frozen=True, slots=True)
class PodSecurity:
    """The checker and the settings it runs with (``MapperConfig.pod_security_*``)."""

    check: PodSecurityCheck
    level: str = "baseline"
    allow: tuple[str, ...] = ()

    def refusal(self, v_pod: Obj) -> Refused | None:
        """A ``pod_security`` refusal for ``v_pod``, or ``None`` when it meets the level."""
        violations = list(self.check(v_pod, level=self.level, allow=self.allow))
        if not violations:
            return None
        first = violations[0]
        text = (
            first.message
            if first.message.startswith(first.field)
            else (f"{first.field}: {first.message}")
        )
        if len(violations) > 1:
            text += f" (and {len(violations) - 1} more)"
        return Refused(reason="pod_security", message=text, retry_after=None)


# -- references ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """One object a pod references: its kind, its virtual name, where the pod names it."""

    resource: Resource
    name: str
    field: str


#: Per kind: a substring of the (lower-cased) key holding the reference, the keys naming it.
_MARKERS: Mapping[str, str] = {
    SECRETS.plural: "secret",
    CONFIGMAPS.plural: "configmap",
    PVCS.plural: "persistentvolumeclaim",
}
_NAME_KEYS = ("name", "secretName", "claimName")


def _find(value: Any, *, path: str, parent: str, marker: str, name: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        if marker in parent.lower():
            for key in _NAME_KEYS:
                if value.get(key) == name:
                    yield f"{path}.{key}"
        for key, child in value.items():
            yield from _find(child, path=f"{path}.{key}", parent=str(key), marker=marker, name=name)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            at = f"{path}[{index}]"
            yield from _find(child, path=at, parent=parent, marker=marker, name=name)


def reference_field(v_pod: Obj, *, resource: Resource, name: str) -> str:
    """The JSON path of the first place ``v_pod`` names ``name`` of ``resource`` (else ``spec``)."""
    marker = _MARKERS.get(resource.plural, resource.kind.lower())
    found = _find(mapping(v_pod.get("spec")), path="spec", parent="", marker=marker, name=name)
    return next(found, "spec")


def references(v_pod: Obj) -> list[Reference]:
    """Every secret, configmap and PVC ``v_pod`` references, in a stable order."""
    refs = pod_references(v_pod)
    listed: list[Reference] = []
    kinds = ((SECRETS, refs.secrets), (CONFIGMAPS, refs.configmaps), (PVCS, refs.pvcs))
    for resource, names in kinds:
        for name in sorted(names):
            field = reference_field(v_pod, resource=resource, name=name)
            listed.append(Reference(resource, name, field))
    return listed


def _is_copy_of(ctx: SyncContext, p_obj: Obj, ref: Reference, namespace: str) -> bool:
    if ref.resource == SECRETS and is_token_secret(p_obj):
        return False  # a pod's token, never a tenant's secret
    return holds(ctx.translator, p_obj, resource=ref.resource, namespace=namespace, name=ref.name)


async def unready_references(ctx: SyncContext, v_pod: Obj) -> list[Reference]:
    """The ambiguous references of ``v_pod`` whose host copy does not exist yet.

    Raises :class:`Refused` (``reference_collision``) when a host object under a
    reference's host name is not this vcluster's copy of that very object.
    """
    namespace = namespace_of(v_pod)
    waiting: list[Reference] = []
    for ref in references(v_pod):
        p_name = ctx.translator.host_name(namespace, ref.name)
        p_obj = await read_host(ctx, ref.resource, p_name)
        if p_obj is not None:
            if not _is_copy_of(ctx, p_obj, ref, namespace):
                kind = ref.resource.kind.lower()
                raise Refused(
                    reason="reference_collision",
                    message=(
                        f"{ref.field}: {kind} '{ref.name}': host {kind} {p_name} "
                        "belongs to another virtual object"
                    ),
                    retry_after=COLLISION_RETRY,
                )
        elif is_ambiguous(ctx.translator, namespace, ref.name):
            waiting.append(ref)
    return waiting


class ReferenceWaits:
    """Pods waiting for their ambiguous references' host copies.

    Each pod (key and UID) waits :data:`WAIT_FIRST` seconds, then twice as long
    each time, up to :data:`WAIT_CAP`; :meth:`wait` says whether this is the
    first wait (the one that gets a Warning event).  Entries go with
    :meth:`forget`; ones untouched for ten caps are swept, so pods deleted while
    waiting cost nothing for long.
    """

    def __init__(self) -> None:
        #: key → (pod UID, waits so far, monotonic time of the last wait)
        self._waits: dict[ObjectKey, tuple[str, int, float]] = {}

    def __len__(self) -> int:
        return len(self._waits)

    def wait(self, key: ObjectKey, *, uid: str) -> tuple[float, bool]:
        """``(seconds to wait, whether this is the pod's first wait)``."""
        now = time.monotonic()
        previous = self._waits.get(key)
        count = previous[1] if previous is not None and previous[0] == uid else 0
        self._waits[key] = (uid, count + 1, now)
        if len(self._waits) > 1024:
            stale = now - 10 * WAIT_CAP
            self._waits = {k: w for k, w in self._waits.items() if w[2] > stale}
        return min(WAIT_FIRST * WAIT_FACTOR**count, WAIT_CAP), count == 0

    def forget(self, key: ObjectKey) -> None:
        self._waits.pop(key, None)

    async def hold(self, ctx: SyncContext, v_pod: Obj, *, key: ObjectKey, message: str) -> Result:
        """One more :meth:`wait` of ``v_pod``: its first records a Warning event
        ``WaitingForReferences`` with ``message`` on it; the result requeues after the wait."""
        delay, first = self.wait(key, uid=uid_of(v_pod))
        if first:
            await ctx.record_event(
                v_pod, type_="Warning", reason="WaitingForReferences", message=message, kind="Pod"
            )
        return Result(requeue_after=delay)


# -- placement --------------------------------------------------------------------------------


def node_refusal(ctx: SyncContext, v_pod: Obj) -> Refused | None:
    """A ``node_name`` refusal when ``v_pod`` is bound to a node the host is known to lack."""
    node = mapping(v_pod.get("spec")).get("nodeName")
    if not isinstance(node, str) or not node:
        return None
    if not ctx.serves(NODES):
        return None  # the nodes mapper is off: a missing node cannot be known
    if ctx.host_cache(NODES).get("", node) is not None:
        return None
    return Refused(
        reason="node_name",
        message=f"spec.nodeName: node '{node}' does not exist on the host",
        retry_after=NODE_RETRY,
    )


def waiting_message(v_pod: Obj, refs: Sequence[Reference]) -> str:
    """The Warning event of a pod waiting for ambiguous references' host copies."""
    listed = ", ".join(f"{r.resource.kind.lower()} '{r.name}' ({r.field})" for r in refs)
    return (
        f"pod {name_of(v_pod)} waits for the host copies of {listed}: their host names "
        "could also belong to another namespace's object"
    )
