"""The consistency rules: what the host namespace must hold, given the virtual cluster.

:func:`compare` is pure: it takes a :class:`Snapshot` of both clusters (lists,
as read), the test's :class:`~tests.faults.ledger.Ledger` and the
:class:`~syncer.translate.Translator`, and returns a :class:`Report`.  Rules
(vcluster's rules as the mapper docstrings state them):

* **lost** — a ledger key that is live but absent in virtual; a virtual object
  that must be synced whose host copy (under ``Translator.host_name``) is
  absent; a token Secret missing for a synced pod that projects a token; a fake
  node missing for a bound pod; a host event about a synced object not copied up.
  Must be synced: every pod, service and PVC; endpoints of a selector-less
  service; configmaps/secrets while a virtual pod refers to them — except
  what the ledger says the syncer must refuse (``Ledger.refused``), whose
  host copy counts as an orphan.
* **duplicated** — a second host object marked ours whose provenance names a
  virtual key that already has its proper copy (or must have none), under a
  name that is not the translation.
* **orphaned** — a managed host object (:meth:`Translator.is_owned`) whose
  virtual object is gone or is not to be synced (an unreferenced configmap, the
  endpoints of a service with a selector); a token Secret without its host pod;
  an object carrying our marker label and provenance annotations whose name
  does not match them (and whose key has no copy; marker label alone is not a
  claim: host controllers copy labels, e.g. to a service's Endpoints); a fake
  node no virtual pod is bound to.
* **mismatched** — host copy present but a translated field differs: labels
  (translated, a subset of the host's), annotations (a subset), provenance UID;
  pods: container images, node placement, phase and pod IP flowing up (the
  stable, translatable fields — the full :func:`mappers.podspec.translate_pod`
  output depends on cluster state the syncer reads, such as DNS and API service
  IPs, which a checker cannot reproduce independently); services: cluster IP
  equal on both sides, ports, type and translated selector; endpoints:
  addresses; configmaps/secrets: data (a service-account-token secret becomes
  Opaque); PVCs: requests, access modes, phase; owner references: exactly one,
  to the owner anchor (the Service named like the vcluster in the host
  namespace, by its current uid; ``controller`` exactly when the virtual object
  has a controlling owner), or none where the snapshot holds no anchor
  (:mod:`syncer.owneranchor`); and any virtual object still terminating (a
  deletion not yet carried through).

Only virtual namespaces in ``Snapshot.namespaces`` are judged (the shared test
clusters hold other tests' objects); every managed host object in the host
namespace whose virtual namespace is in scope is judged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mappers.references import pod_references
from mappers.tokens import TOKEN_SECRET_LABEL, mounted_token_secret, token_sources
from syncer.api import ObjectKey
from syncer.translate import (
    FAKE_NODE_LABEL,
    MANAGED_BY_LABEL,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    Translator,
)
from tests.faults import rules
from tests.faults.ledger import Ledger

Obj = Mapping[str, Any]

#: The namespaced kinds copied virtual → host, by plural.
COPIED = ("pods", "services", "endpoints", "configmaps", "secrets", "persistentvolumeclaims")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Lists of both clusters; ``virtual``/``host`` map a plural to its items.

    ``virtual`` holds the namespaced kinds of :data:`COPIED` plus ``events``
    (scoped or not; scoping is done here), ``nodes`` (all virtual nodes) and
    ``pods`` of the *whole* virtual cluster (fake nodes depend on all of them).
    ``host`` holds the host namespace's objects of :data:`COPIED` and ``events``.
    """

    namespaces: frozenset[str]
    virtual: Mapping[str, Sequence[Obj]]
    host: Mapping[str, Sequence[Obj]]


@dataclass(frozen=True, slots=True)
class Problem:
    """One inconsistency: the virtual key it concerns and what is wrong."""

    key: ObjectKey
    detail: str

    def __str__(self) -> str:
        return f"{self.key}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Report:
    """The checker's verdict; ``clean`` when every list is empty."""

    created: int
    checked: int
    lost: tuple[Problem, ...] = ()
    duplicated: tuple[Problem, ...] = ()
    orphaned: tuple[Problem, ...] = ()
    mismatched: tuple[Problem, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.orphaned or self.mismatched)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "orphaned": len(self.orphaned),
            "mismatched": len(self.mismatched),
        }

    def summary(self, *, limit: int = 20) -> str:
        """Counts and up to ``limit`` problems of each class, one a line."""
        lines = [", ".join(f"{k}={v}" for k, v in self.counts().items())]
        for label, problems in (
            ("lost", self.lost),
            ("duplicated", self.duplicated),
            ("orphaned", self.orphaned),
            ("mismatched", self.mismatched),
        ):
            lines += [f"  {label}: {p}" for p in problems[:limit]]
            if len(problems) > limit:
                lines.append(f"  {label}: ... {len(problems) - limit} more")
        return "\n".join(lines)


def _meta(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def _key(kind: str, obj: Obj) -> ObjectKey:
    return ObjectKey(kind, str(_meta(obj).get("namespace") or ""), str(_meta(obj).get("name")))


@dataclass(slots=True)
class _Findings:
    lost: list[Problem] = field(default_factory=list)
    duplicated: list[Problem] = field(default_factory=list)
    orphaned: list[Problem] = field(default_factory=list)
    mismatched: list[Problem] = field(default_factory=list)


def must_sync(kind: str, v_obj: Obj, *, virtual: Mapping[ObjectKey, Obj]) -> bool:
    """Whether the virtual object must have a host copy now (the per-kind rule)."""
    meta = _meta(v_obj)
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name"))
    if kind == "endpoints":
        service = virtual.get(ObjectKey("services", ns, name))
        return service is not None and not (service.get("spec") or {}).get("selector")
    if kind in ("configmaps", "secrets"):
        if kind == "configmaps" and name == "kube-root-ca.crt":
            return False
        for (pod_kind, pod_ns, _), pod in virtual.items():
            if pod_kind == "pods" and pod_ns == ns:
                refs = pod_references(pod)
                if name in (refs.configmaps if kind == "configmaps" else refs.secrets):
                    return True
        return False
    return not (kind == "services" and (ns, name) == ("default", "kubernetes"))


def compare(*, snapshot: Snapshot, ledger: Ledger, translator: Translator) -> Report:
    """Judge ``snapshot`` against the rules in the module docstring."""
    scope = snapshot.namespaces
    virtual: dict[ObjectKey, Obj] = {}
    for kind in COPIED:
        for v_obj in snapshot.virtual.get(kind, []):
            key = _key(kind, v_obj)
            if key.namespace in scope:
                virtual[key] = v_obj
    found = _Findings()
    for key in sorted(ledger.live()):
        if key not in virtual:
            found.lost.append(Problem(key, "virtual object gone (not deleted by the test)"))
    for key, v_obj in virtual.items():
        if _meta(v_obj).get("deletionTimestamp"):
            found.mismatched.append(Problem(key, "virtual object still terminating"))
    by_provenance: dict[ObjectKey, list[Obj]] = defaultdict(list)
    strays: dict[ObjectKey, list[Obj]] = defaultdict(list)
    for kind in COPIED:
        for h_obj in snapshot.host.get(kind, []):
            _sort_host(kind, h_obj, translator, scope, by_provenance, strays)
    checked = 0
    anchor = rules.anchor_uid(snapshot.host.get("services", []), vcluster=translator.vcluster)
    for key, v_obj in sorted(virtual.items()):
        copies = by_provenance.pop(key, [])
        wanted = must_sync(key.kind, v_obj, virtual=virtual) and not ledger.is_refused(key)
        extra = strays.pop(key, [])
        if extra and (copies or not wanted):
            names = ", ".join(str(_meta(o).get("name")) for o in extra)
            found.duplicated.append(Problem(key, f"second host copy under another name: {names}"))
        elif extra:
            found.orphaned += [Problem(key, "marked ours, name != provenance")] * len(extra)
        if not wanted:
            found.orphaned += [Problem(key, "host copy of an object not to be synced")] * len(
                copies
            )
            continue
        checked += 1
        _judge_copy(key, v_obj, copies, translator, found, anchor=anchor)
    for key, copies in by_provenance.items():
        found.orphaned += [Problem(key, "host copy without virtual object")] * len(copies)
    for key, copies in strays.items():
        found.orphaned += [Problem(key, "marked ours, name != provenance")] * len(copies)
    _check_tokens(snapshot, virtual, translator, found)
    _check_fake_nodes(snapshot, virtual, found)
    _check_events(snapshot, virtual, translator, found)
    return Report(
        created=ledger.created_count,
        checked=checked,
        lost=tuple(found.lost),
        duplicated=tuple(found.duplicated),
        orphaned=tuple(found.orphaned),
        mismatched=tuple(found.mismatched),
    )


def _judge_copy(
    key: ObjectKey,
    v_obj: Obj,
    copies: list[Obj],
    translator: Translator,
    found: _Findings,
    *,
    anchor: str | None,
) -> None:
    """The host copy under the translated name exists and carries the translated fields."""
    expected = translator.host_name(key.namespace, key.name)
    p_obj = next((c for c in copies if _meta(c).get("name") == expected), None)
    if p_obj is None:
        found.lost.append(Problem(key, f"host copy {expected} missing"))
        return
    for detail in rules.differences(key.kind, v_obj, p_obj, translator=translator):
        found.mismatched.append(Problem(key, detail))
    uid = (_meta(p_obj).get("annotations") or {}).get(OBJECT_UID_ANNOTATION)
    if uid != _meta(v_obj).get("uid"):
        found.mismatched.append(Problem(key, "host copy names another virtual UID"))
    owner = rules.owner_difference(v_obj, p_obj, anchor=anchor)
    if owner is not None:
        found.mismatched.append(Problem(key, owner))


def _sort_host(
    kind: str,
    p_obj: Obj,
    translator: Translator,
    scope: frozenset[str],
    by_provenance: dict[ObjectKey, list[Obj]],
    strays: dict[ObjectKey, list[Obj]],
) -> None:
    """File one host object marked ours under the virtual key its provenance names.

    Proper copies (name = translation of the provenance) go to ``by_provenance``;
    marked objects under any other name go to ``strays`` (the key from their
    annotations, namespace ``""`` if they name none).
    """
    labels = _meta(p_obj).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != translator.vcluster:
        return  # not ours: never judged
    if kind == "secrets" and labels.get(TOKEN_SECRET_LABEL) == "true":
        return  # a pod's token secret: see _check_tokens
    found_key = translator.virtual_key_from_host(p_obj)
    if found_key is not None:
        if found_key[0] in scope:
            by_provenance[ObjectKey(kind, *found_key)].append(p_obj)
        return
    annotations = _meta(p_obj).get("annotations") or {}
    if not annotations.get(OBJECT_NAME_ANNOTATION):
        # No provenance: not a copy at all, e.g. the Endpoints the host's endpoints
        # controller makes for a synced service (it copies the service's labels).
        return
    namespace = str(annotations.get(OBJECT_NAMESPACE_ANNOTATION) or "")
    name = str(annotations.get(OBJECT_NAME_ANNOTATION))
    if namespace in scope or not namespace:
        strays[ObjectKey(kind, namespace, name)].append(p_obj)


def _check_tokens(
    snapshot: Snapshot, virtual: Mapping[ObjectKey, Obj], translator: Translator, found: _Findings
) -> None:
    """A synced pod projecting a token mounts a token Secret that exists; none is left over.

    Which Secret a host pod mounts is read from the host pod's own volumes
    (:func:`mappers.tokens.mounted_token_secret`): its name scheme changed over
    time, the mounted name never does.
    """
    tokens = {
        str(_meta(s).get("name")): s
        for s in snapshot.host.get("secrets", [])
        if (_meta(s).get("labels") or {}).get(TOKEN_SECRET_LABEL) == "true"
    }
    host_pods = {
        translator.virtual_key_from_host(p): p
        for p in snapshot.host.get("pods", [])
        if translator.virtual_key_from_host(p) is not None
    }
    wanted: set[str] = set()
    for key, v_pod in virtual.items():
        p_pod = host_pods.get((key.namespace, key.name))
        if key.kind != "pods" or p_pod is None or not token_sources(v_pod):
            continue
        name = mounted_token_secret(p_pod, translator=translator)
        if name is None:
            found.lost.append(Problem(key, "host pod mounts no token secret"))
            continue
        wanted.add(name)
        if name not in tokens:
            found.lost.append(Problem(key, f"token secret {name} missing"))
    host_pod_names = {str(_meta(p).get("name")) for p in snapshot.host.get("pods", [])}
    for name, secret in tokens.items():
        owners = {str(o.get("name")) for o in _meta(secret).get("ownerReferences") or []}
        if name not in wanted and not owners & host_pod_names:
            found.orphaned.append(Problem(ObjectKey("secrets", "", name), "token secret, no pod"))


def _check_fake_nodes(
    snapshot: Snapshot, virtual: Mapping[ObjectKey, Obj], found: _Findings
) -> None:
    fake = {
        str(_meta(n).get("name"))
        for n in snapshot.virtual.get("nodes", [])
        if (_meta(n).get("labels") or {}).get(FAKE_NODE_LABEL) == "true"
    }
    bound_anywhere = {
        str((p.get("spec") or {}).get("nodeName"))
        for p in snapshot.virtual.get("pods", [])
        if (p.get("spec") or {}).get("nodeName")
    }
    for key, v_pod in virtual.items():
        node = (v_pod.get("spec") or {}).get("nodeName") if key.kind == "pods" else None
        if node and node not in fake:
            found.lost.append(Problem(key, f"fake node {node} missing"))
    for node in sorted(fake - bound_anywhere):
        found.orphaned.append(Problem(ObjectKey("nodes", "", node), "fake node, no pod bound"))


def _check_events(
    snapshot: Snapshot, virtual: Mapping[ObjectKey, Obj], translator: Translator, found: _Findings
) -> None:
    """Each host event about a synced, in-scope object is copied up under its own name."""
    host_objects: dict[tuple[str, str], tuple[ObjectKey, Obj]] = {}
    for kind in COPIED:
        for p_obj in snapshot.host.get(kind, []):
            v_key = translator.virtual_key_from_host(p_obj)
            if v_key is not None and ObjectKey(kind, *v_key) in virtual:
                kind_name = str(p_obj.get("kind") or rules.KIND_NAMES[kind])
                host_objects[(kind_name, str(_meta(p_obj).get("name")))] = (
                    ObjectKey(kind, *v_key),
                    p_obj,
                )
    v_events: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for v_event in snapshot.virtual.get("events", []):
        v_events[(str(_meta(v_event).get("namespace")), str(_meta(v_event).get("name")))].append(
            v_event
        )
    for p_event in snapshot.host.get("events", []):
        involved = p_event.get("involvedObject") or {}
        target = host_objects.get((str(involved.get("kind")), str(involved.get("name"))))
        if target is None or involved.get("uid") != _meta(target[1]).get("uid"):
            continue
        about, _ = target
        v_obj = virtual[about]
        name = str(_meta(p_event).get("name"))
        copies = v_events.get((about.namespace, name), [])
        event_key = ObjectKey("events", about.namespace, name)
        if not copies:
            found.lost.append(Problem(event_key, f"host event about {about} not copied up"))
        elif (copies[0].get("involvedObject") or {}).get("uid") != _meta(v_obj).get("uid"):
            found.mismatched.append(Problem(event_key, "virtual event points elsewhere"))


def keys_of(problems: Iterable[Problem]) -> list[str]:
    """The keys of ``problems`` as strings (for messages and the results table)."""
    return [str(p.key) for p in problems]
