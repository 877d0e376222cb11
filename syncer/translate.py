"""Translation between virtual and host names, labels, selectors and annotations.

Everything here is pure and synchronous: no I/O, no module-level mutable state,
so mappers, event handlers and tests may call it freely.  The rules follow
vcluster's naming, labelling and annotation rules for host objects, so that host
objects look exactly like the ones loft-sh/vcluster creates.

Guarantees (proven by property tests in ``tests/syncer/test_translate_*.py``), for a
virtual ``name`` that is a DNS-1123 subdomain, a virtual namespace and a vcluster
name that are DNS-1123 labels:

* ``host_name`` and ``host_cluster_name`` are at most 63 characters long.
* They are always valid DNS-1123 *subdomains*.  They are DNS-1123 *labels* exactly
  when they contain no ``.``; that holds whenever the virtual name has no ``.``.
  A dotted name (legal for pods, configmaps, secrets, PVCs) keeps its dots unless
  the hashing cut drops them, so such host names are subdomains but not labels.
  When the virtual name is a DNS-1035 label (every service name), so is the host
  name.
* Two different ``(namespace, name)`` pairs get the same host name only if
  ``name-x-namespace`` is the same string for both -- which needs a second
  ``-x-`` in it, inside one pair's name or namespace or straddling their join
  (``0-x`` + ``-x-`` + ``x-0``) -- or by a coincidence of 40 bits of SHA-256.
  The name alone is therefore not a proof of identity: the inverse comes from
  the provenance annotations (:meth:`Translator.virtual_key_from_host`), and a
  reconcile must still compare that key with its own.
* Translated label keys are valid qualified names (``prefix/name``, name part at
  most 63 characters), and none is a key the host label denylist denies
  (:mod:`syncer.hostlabels`).  Label and annotation *values* are copied as they
  are: the virtual API server has already validated them by the same rules as
  the host's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncer.hostlabels import DEFAULT_DENYLIST, RESERVED_KEY_PREFIXES, HostLabelDenylist

MANAGED_BY_LABEL = "vcluster.loft.sh/managed-by"
NAMESPACE_LABEL = "vcluster.loft.sh/namespace"
CONTROLLED_BY_LABEL = "vcluster.loft.sh/controlled-by"
FAKE_NODE_LABEL = "vcluster.loft.sh/fake-node"

OBJECT_NAME_ANNOTATION = "vcluster.loft.sh/object-name"
OBJECT_NAMESPACE_ANNOTATION = "vcluster.loft.sh/object-namespace"
OBJECT_UID_ANNOTATION = "vcluster.loft.sh/object-uid"
OBJECT_KIND_ANNOTATION = "vcluster.loft.sh/object-kind"
OBJECT_HOST_NAME_ANNOTATION = "vcluster.loft.sh/object-host-name"
OBJECT_HOST_NAMESPACE_ANNOTATION = "vcluster.loft.sh/object-host-namespace"
MANAGED_LABELS_ANNOTATION = "vcluster.loft.sh/managed-labels"
MANAGED_ANNOTATIONS_ANNOTATION = "vcluster.loft.sh/managed-annotations"
OWNER_REFERENCES_ANNOTATION = "vcluster.loft.sh/owner-references"

#: User label keys that would collide with the syncer's own; they are renamed.
COLLIDING_LABEL_KEYS = frozenset(
    {"release", NAMESPACE_LABEL, MANAGED_BY_LABEL, CONTROLLED_BY_LABEL}
)

#: The ``object-kind`` of the host Secrets holding a pod's virtual service-account token:
#: their provenance names the *pod*, and their name is :func:`token_host_name`.
TOKEN_SECRET_KIND = "vsyncer.dev/v1, Kind=PodServiceAccountToken"
_SECRET_KIND = "/v1, Kind=Secret"
#: The ``object-kind`` of the host ServiceAccount synced pods run as, when this syncer
#: created it: it has no virtual counterpart, so it is ours by marker label and namespace.
WORKLOAD_SERVICE_ACCOUNT_KIND = "vsyncer.dev/v1, Kind=WorkloadServiceAccount"
_SERVICE_ACCOUNT_KIND = "/v1, Kind=ServiceAccount"
_TOKEN_NAME_PREFIX = "vsyncer-sa-token-"
_TOKEN_NAME_DIGITS = 32

_MAX_NAME = 63
_CUT = 52
_HASH_DIGITS = 10


def _sha256_prefix(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_DIGITS]


def safe_concat(*parts: str) -> str:
    """Join ``parts`` with ``-``; shorten results over 63 characters with a hash.

    A long result is its first 52 characters, ``-``, and the first 10 hex digits
    of the SHA-256 of the whole joined string, after which every ``.-`` becomes
    ``-``.  The parts must be ASCII (all Kubernetes names are), so characters and
    bytes count alike, as in vcluster's Go code.
    """
    joined = "-".join(parts)
    if not joined.isascii():
        raise ValueError(f"names must be ASCII: {joined!r}")
    if len(joined) <= _MAX_NAME:
        return joined
    return (joined[:_CUT] + "-" + _sha256_prefix(joined)).replace(".-", "-")


def is_reserved_key(key: str) -> bool:
    """Whether a label or annotation key is in the syncers' own key space
    (:data:`RESERVED_KEY_PREFIXES`: such a tenant label is renamed like a colliding key,
    such a tenant annotation never reaches the host)."""
    return key.startswith(RESERVED_KEY_PREFIXES)


def host_name(*, name: str, namespace: str, vcluster: str) -> str:
    """The host name of the namespaced virtual object ``namespace/name``."""
    return safe_concat(name, "x", namespace, "x", vcluster)


def host_cluster_name(*, name: str, host_namespace: str, vcluster: str) -> str:
    """The host name of the cluster-scoped virtual object ``name``."""
    return safe_concat("vcluster", name, "x", host_namespace, "x", vcluster)


def token_host_name(*, vcluster: str, namespace: str, pod: str) -> str:
    """The host name of the token Secret of virtual pod ``namespace/pod`` (49 characters).

    ``vsyncer-sa-token-`` and 32 hex digits of SHA-256 over ``vcluster/namespace/pod``:
    no :func:`host_name` can equal it (those contain ``-x-`` or end in ``-`` and 10 hex
    digits; see ``mappers/tokens.py`` for the argument and its property test).
    """
    digest = hashlib.sha256(f"{vcluster}/{namespace}/{pod}".encode()).hexdigest()
    return _TOKEN_NAME_PREFIX + digest[:_TOKEN_NAME_DIGITS]


def object_kind(api_version: str, *, kind: str) -> str:
    """The ``object-kind`` value, Go's GroupVersionKind string: ``/v1, Kind=Pod``."""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


def managed_keys_annotation(keys: Iterable[str]) -> str:
    """The value of ``managed-labels`` / ``managed-annotations``: sorted, one key a line."""
    return "\n".join(sorted(set(keys)))


def parse_managed_keys(value: str | None) -> set[str]:
    """The inverse of :func:`managed_keys_annotation`; a missing value is no keys."""
    if not value:
        return set()
    return {key for key in value.split("\n") if key}


def merge_managed(
    *,
    desired: Mapping[str, str],
    current_host: Mapping[str, str],
    previously_managed: set[str],
) -> dict[str, str]:
    """The host map to write, given what the virtual side wants now.

    ``desired`` is already translated.  Keys someone else added on the host (never
    managed by us) survive; keys we managed before but no longer want are removed;
    ``desired`` wins every key it names.  Record ``set(desired)`` as the new
    managed keys.
    """
    merged = {
        key: value
        for key, value in current_host.items()
        if key in desired or key not in previously_managed
    }
    merged.update(desired)
    return merged


def three_way_merge(
    *, last: Mapping[str, str], virtual: Mapping[str, str], host: Mapping[str, str]
) -> dict[str, str]:
    """Merge a map that changes on both sides, against the ``last`` state both agreed on.

    All three maps must be in the same key space.  A key changed (or deleted) on
    one side only takes that side's state; when both sides changed it differently
    the virtual side wins, including a virtual deletion.
    """
    merged: dict[str, str] = {}
    for key in last.keys() | virtual.keys() | host.keys():
        base, v_value, p_value = last.get(key), virtual.get(key), host.get(key)
        # Unchanged on the virtual side: the host's state stands (possibly a deletion).
        value = p_value if v_value == base else v_value
        if value is not None:
            merged[key] = value
    return merged


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Translator:
    """The translation rules of one virtual cluster syncing into one host namespace.

    ``label_denylist``: the label keys renamed besides vcluster's (:mod:`syncer.hostlabels`).
    """

    vcluster: str
    host_namespace: str
    label_denylist: HostLabelDenylist = DEFAULT_DENYLIST
    _renamed_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    _renamed_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value in (("vcluster", self.vcluster), ("host_namespace", self.host_namespace)):
            if not value or not value.isascii():
                raise ValueError(f"{name} must be a non-empty ASCII name, got {value!r}")
        deny = self.label_denylist  # precomputed: translate_label_key is on every write
        object.__setattr__(self, "_renamed_keys", COLLIDING_LABEL_KEYS | deny.keys)
        object.__setattr__(self, "_renamed_prefixes", RESERVED_KEY_PREFIXES + deny.prefixes)

    def host_name(self, namespace: str, name: str) -> str:
        """The host name of the namespaced virtual object ``namespace/name``."""
        return host_name(name=name, namespace=namespace, vcluster=self.vcluster)

    def host_cluster_name(self, name: str) -> str:
        """The host name of the cluster-scoped virtual object ``name``."""
        return host_cluster_name(
            name=name, host_namespace=self.host_namespace, vcluster=self.vcluster
        )

    def translate_label_key(self, key: str) -> str:
        """A user label key as it appears on the host.

        Colliding keys (vcluster's four), every key under a reserved prefix
        (:data:`RESERVED_KEY_PREFIXES`) and every key ``label_denylist`` denies
        (vsyncer's stricter rules) are renamed to
        ``vcluster.loft.sh/label-<vcluster>-x-<sha256(key)[:10]>``.
        """
        if key not in self._renamed_keys and not key.startswith(self._renamed_prefixes):
            return key
        return safe_concat("vcluster.loft.sh/label", self.vcluster, "x", _sha256_prefix(key))

    def namespace_label_key(self, key: str) -> str:
        """The host pod label key carrying label ``key`` of the pod's virtual namespace."""
        return safe_concat("vcluster.loft.sh/ns-label", self.vcluster, "x", _sha256_prefix(key))

    def translate_labels(
        self, labels: Mapping[str, str] | None, *, namespace: str
    ) -> dict[str, str]:
        """User labels translated, plus the marker labels.

        ``namespace`` is the virtual namespace; ``""`` (cluster-scoped) omits the
        namespace label, as vcluster does.  Values are copied as they are.
        """
        host = {self.translate_label_key(key): value for key, value in (labels or {}).items()}
        host[MANAGED_BY_LABEL] = self.vcluster
        if namespace:
            host[NAMESPACE_LABEL] = namespace
        return host

    def translate_namespace_labels(self, labels: Mapping[str, str] | None) -> dict[str, str]:
        """The labels of a virtual namespace as copied onto its host pods."""
        return {self.namespace_label_key(key): value for key, value in (labels or {}).items()}

    def _marker_terms(self, namespace: str) -> dict[str, str]:
        if not namespace:
            raise ValueError("selectors are translated within a virtual namespace")
        return {MANAGED_BY_LABEL: self.vcluster, NAMESPACE_LABEL: namespace}

    def translate_selector(
        self, match_labels: Mapping[str, str] | None, *, namespace: str
    ) -> dict[str, str]:
        """A service-style selector (a plain map) as it must appear on the host.

        A missing or empty selector stays empty: for a service it means "no
        selector, endpoints are managed elsewhere", and adding the marker terms
        would make the host select every pod of the namespace.
        """
        if not match_labels:
            return {}
        host = {self.translate_label_key(key): value for key, value in match_labels.items()}
        host.update(self._marker_terms(namespace))
        return host

    def translate_label_selector(
        self, selector: Mapping[str, Any], *, namespace: str
    ) -> dict[str, Any]:
        """A ``LabelSelector`` (``matchLabels`` / ``matchExpressions``) for the host.

        Keys in both parts are translated and the marker terms are added, so an
        empty selector ("every pod") becomes "every pod of this virtual namespace
        of this vcluster".  A *missing* selector ("no pod") is the caller's to keep
        missing.
        """
        host: dict[str, Any] = dict(selector)
        match_labels = _mapping(selector.get("matchLabels"))
        host["matchLabels"] = {
            **{self.translate_label_key(key): value for key, value in match_labels.items()},
            **self._marker_terms(namespace),
        }
        expressions = selector.get("matchExpressions")
        if expressions:
            host["matchExpressions"] = [self._translate_expression(e) for e in expressions]
        return host

    def _translate_expression(self, expression: Mapping[str, Any]) -> dict[str, Any]:
        host = dict(expression)
        host["key"] = self.translate_label_key(expression["key"])
        if "values" in host:
            host["values"] = list(host["values"])  # copied as they are, never shared
        return host

    def provenance_annotations(
        self, *, kind_string: str, namespace: str, name: str, uid: str, host_name: str
    ) -> dict[str, str]:
        """The annotations that tie a host object to its virtual object.

        ``namespace == ""`` marks a cluster-scoped virtual object, synced to a
        cluster-scoped host object: no object-namespace or host-namespace then.
        """
        annotations = {
            OBJECT_NAME_ANNOTATION: name,
            OBJECT_UID_ANNOTATION: uid,
            OBJECT_KIND_ANNOTATION: kind_string,
            OBJECT_HOST_NAME_ANNOTATION: host_name,
        }
        if namespace:
            annotations[OBJECT_NAMESPACE_ANNOTATION] = namespace
            annotations[OBJECT_HOST_NAMESPACE_ANNOTATION] = self.host_namespace
        return annotations

    def virtual_key_from_host(self, host_obj: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(namespace, name)`` of the virtual object behind ``host_obj``, or ``None``.

        Trusted only when the marker label names this vcluster and re-translating
        the annotations gives back the host object's own name.  A namespaced host
        object must also live in the host namespace and carry ``object-namespace``;
        a cluster-scoped one must not carry it (its namespace in the key is ``""``).
        """
        meta = _mapping(host_obj.get("metadata"))
        labels = _mapping(meta.get("labels"))
        annotations = _mapping(meta.get("annotations"))
        p_name, p_namespace = meta.get("name"), meta.get("namespace") or ""
        v_name = annotations.get(OBJECT_NAME_ANNOTATION)
        v_namespace = annotations.get(OBJECT_NAMESPACE_ANNOTATION, "")
        if labels.get(MANAGED_BY_LABEL) != self.vcluster:
            return None
        if not isinstance(p_name, str) or not isinstance(v_name, str) or not v_name:
            return None
        if not isinstance(v_namespace, str) or not (v_name + v_namespace).isascii():
            return None
        if p_namespace:
            if p_namespace != self.host_namespace or not v_namespace:
                return None
            expected = self.host_name(v_namespace, v_name)
        else:
            if v_namespace:
                return None
            expected = self.host_cluster_name(v_name)
        return (v_namespace, v_name) if expected == p_name else None

    def token_secret_owner(self, host_obj: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(namespace, pod)`` of the virtual pod a host token Secret belongs to, or ``None``.

        Trusted only when the marker label names this vcluster, the Secret is in
        the host namespace, its ``object-kind`` is :data:`TOKEN_SECRET_KIND` and
        its provenance (the pod's namespace and name) re-translates by
        :func:`token_host_name` to its own name.
        """
        meta = _mapping(host_obj.get("metadata"))
        annotations = _mapping(meta.get("annotations"))
        namespace = annotations.get(OBJECT_NAMESPACE_ANNOTATION)
        pod = annotations.get(OBJECT_NAME_ANNOTATION)
        if (
            _mapping(meta.get("labels")).get(MANAGED_BY_LABEL) != self.vcluster
            or meta.get("namespace") != self.host_namespace
            or annotations.get(OBJECT_KIND_ANNOTATION) != TOKEN_SECRET_KIND
            or not isinstance(namespace, str)
            or not isinstance(pod, str)
            or not namespace
            or not pod
        ):
            return None
        expected = token_host_name(vcluster=self.vcluster, namespace=namespace, pod=pod)
        return (namespace, pod) if meta.get("name") == expected else None

    def is_owned(self, host_obj: Mapping[str, Any], *, kind_string: str) -> bool:
        """Whether ``host_obj`` is ours to modify or delete (every rule vcluster applies).

        A Secret whose ``object-kind`` is :data:`TOKEN_SECRET_KIND` is a pod's token
        Secret and is ours by :meth:`token_secret_owner`; a ServiceAccount whose
        ``object-kind`` is :data:`WORKLOAD_SERVICE_ACCOUNT_KIND` is ours when it
        carries this vcluster's marker label in the host namespace.
        """
        meta = _mapping(host_obj.get("metadata"))
        annotations = _mapping(meta.get("annotations"))
        found = annotations.get(OBJECT_KIND_ANNOTATION)
        if kind_string == _SECRET_KIND and found == TOKEN_SECRET_KIND:
            return self.token_secret_owner(host_obj) is not None
        if kind_string == _SERVICE_ACCOUNT_KIND and found == WORKLOAD_SERVICE_ACCOUNT_KIND:
            marker = _mapping(meta.get("labels")).get(MANAGED_BY_LABEL)
            return marker == self.vcluster and meta.get("namespace") == self.host_namespace
        if found != kind_string:
            return False
        return self.virtual_key_from_host(host_obj) is not None
