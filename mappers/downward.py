"""The downward API of a host pod shows the *virtual* pod's values.

The kubelet resolves a ``fieldRef`` against the pod it runs: the host pod.
Every field path whose value differs between the virtual and the host pod is
rewritten to read an annotation (or label) of the host pod that carries the
virtual value.  The field paths Kubernetes v1.36 supports (env: the first nine
below; volumes and projections: the ``metadata`` ones), decided one by one:

==============================  =====================================================
``metadata.name``               rewritten: provenance ``object-name``
``metadata.namespace``          rewritten: provenance ``object-namespace``
``metadata.uid``                rewritten: provenance ``object-uid``
``spec.serviceAccountName``     rewritten: :data:`SERVICE_ACCOUNT_NAME_ANNOTATION`
                                (the host pod has no service account of its own)
``spec.nodeName`` (``spec.host``)  same: the virtual pod is bound to the host's node
``status.hostIP(s)``            same: the host node's addresses
``status.podIP(s)``             same: the virtual status is the host pod's
``metadata.labels``             rewritten: :data:`LABELS_ANNOTATION` (the host pod
                                has marker and namespace labels, renamed keys)
``metadata.annotations``        rewritten: :data:`ANNOTATIONS_ANNOTATION` (the host
                                pod has provenance and bookkeeping annotations)
``metadata.labels['k']``        rewritten to the host key of ``k``
                                (:meth:`Translator.translate_label_key`)
``metadata.annotations['k']``   same, unless ``k`` is in the syncers' key space
                                (never copied to the host): refused
anything else                   refused (reason ``downward_api``)
==============================  =====================================================

The whole-map annotations hold the virtual map formatted exactly as the
kubelet formats it: one ``key="value"`` line per key, sorted, the value quoted
as Go's ``strconv.Quote`` does.  They and the service-account annotation are
added only when the pod reads such a field, and are recomputed with the rest
of the host pod's metadata, so they follow changes of the virtual pod.
``resourceFieldRef`` reads the container's resources, copied as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncer.api import (
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    Obj,
    Translator,
    is_reserved_key,
)
from syncer.kit import annotations_of, labels_of, mapping

#: vcluster's annotation names for the same purpose, where it has one.
SERVICE_ACCOUNT_NAME_ANNOTATION = "vcluster.loft.sh/service-account-name"
LABELS_ANNOTATION = "vcluster.loft.sh/labels"
ANNOTATIONS_ANNOTATION = "vsyncer.dev/annotations"

_REWRITTEN = {
    "metadata.name": OBJECT_NAME_ANNOTATION,
    "metadata.namespace": OBJECT_NAMESPACE_ANNOTATION,
    "metadata.uid": OBJECT_UID_ANNOTATION,
    "spec.serviceAccountName": SERVICE_ACCOUNT_NAME_ANNOTATION,
    "metadata.labels": LABELS_ANNOTATION,
    "metadata.annotations": ANNOTATIONS_ANNOTATION,
}
_SAME = frozenset(
    {
        "spec.nodeName",
        "spec.host",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
    }
)


class UnsupportedField(ValueError):
    """A field path vsyncer cannot show with the virtual value; the message says why."""


def split_subscript(path: str) -> tuple[str, str] | None:
    """``("metadata.labels", "k")`` for ``metadata.labels['k']``; ``None`` if unsubscripted.

    The kubelet's rule: the path ends with ``']`` and splits once at ``['``
    into a non-empty head and the key.
    """
    if not path.endswith("']"):
        return None
    head, sep, key = path[:-2].partition("['")
    return (head, key) if sep and head else None


def host_field_path(path: str, *, translator: Translator) -> str:
    """The field path that reads, on the host pod, what ``path`` reads on the virtual pod.

    Raises :class:`UnsupportedField` for a path that has no such equivalent.
    """
    if path in _SAME:
        return path
    annotation = _REWRITTEN.get(path)
    if annotation is not None:
        return f"metadata.annotations['{annotation}']"
    split = split_subscript(path)
    if split is None:
        raise UnsupportedField(f"field path {path!r} is not one vsyncer can show")
    head, key = split
    if head == "metadata.labels":
        return f"metadata.labels['{translator.translate_label_key(key)}']"
    if head == "metadata.annotations" and not is_reserved_key(key):
        return path
    if head == "metadata.annotations":
        raise UnsupportedField(f"annotation {key!r} is the syncers' own and not on the host pod")
    raise UnsupportedField(f"field path {path!r} does not support a subscript")


def go_quote(value: str) -> str:
    """``value`` quoted as Go's ``strconv.Quote`` does (lone surrogates read as U+FFFD)."""
    out = ['"']
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")  # JSON's lone surrogate decodes to U+FFFD in Go
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def format_map(values: Mapping[str, str]) -> str:
    """A label or annotation map as the kubelet shows it in a downward-API file."""
    return "\n".join(f"{key}={go_quote(str(values[key]))}" for key in sorted(values))


def downward_annotations(v_pod: Obj, field_paths: Iterable[str]) -> dict[str, str]:
    """The host annotations carrying virtual values the pod reads through ``field_paths``."""
    wanted = set(field_paths)
    extra: dict[str, str] = {}
    if "spec.serviceAccountName" in wanted:
        spec = mapping(v_pod.get("spec"))
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or ""
        extra[SERVICE_ACCOUNT_NAME_ANNOTATION] = str(account)
    if "metadata.labels" in wanted:
        extra[LABELS_ANNOTATION] = format_map(labels_of(v_pod))
    if "metadata.annotations" in wanted:
        extra[ANNOTATIONS_ANNOTATION] = format_map(annotations_of(v_pod))
    return extra
