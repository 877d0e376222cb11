"""Field patches of a toHost custom resource: fields rewritten on the way to the host.

A :class:`~syncer.api.FieldPatch` names a field by a dotted path (``[*]``
after a key: every element of that list) and a type:

=================  ===========================================================
type               the host copy gets
=================  ===========================================================
``labelSelector``  the selector translated and confined to the object's virtual
                   namespace of this vcluster, as a NetworkPolicy's
                   ``podSelector`` (:func:`mappers.policyselectors.pod_selector`):
                   a ``LabelSelector`` (``matchLabels``/``matchExpressions``,
                   ``{}``: every pod of that namespace) or a plain map of labels
                   (a Service-style selector, keys translated, marker terms
                   added; empty stays empty, selecting nothing)
``rewriteName``    the host name of that name in the object's namespace
                   (``<name>-x-<namespace>-x-<vcluster>``): a reference to
                   another object of the namespace that is synced to the host;
                   a name another namespace's object could share on the host
                   is refused (:mod:`mappers.crcollisions`)
``reference``      as ``rewriteName``, for an object of the patch's ``kind``
                   (secrets, configmaps, services, persistentvolumeclaims) in
                   the object's own namespace — the value must be a plain
                   object name (a DNS-1123 subdomain), so it cannot point into
                   another namespace; the custom resource then counts as a
                   referrer of that object (:func:`references`, indexed under
                   :func:`reference_index`), so a secret or configmap is synced
                   while referenced, as for pods (:mod:`mappers.referenced`)
=================  ===========================================================

A path that is absent in the object is skipped; a value of the wrong shape
(not a selector, not a string) refuses the object (:class:`~syncer.api.Refused`,
reason ``custom_resource_patch``), as any field vsyncer cannot make safe.
Pure functions; the input is never changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mappers.crcollisions import ambiguous_rewrite
from mappers.policyselectors import pod_selector
from syncer.api import FieldPatch, Refused, Translator, thaw
from syncer.kit import Json

_SELECTOR_KEYS = frozenset({"matchLabels", "matchExpressions"})
#: A DNS-1123 subdomain: what every referenced kind's ``metadata.name`` must be.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class Reference:
    """One name a ``reference`` patch found: ``field`` (its path, list indexes filled in),
    ``kind`` (plural) and ``name`` (virtual, in the referring object's namespace)."""

    field: str
    kind: str
    name: str


def reference_index(kind: str) -> str:
    """The index on a custom resource's virtual store: ``ns/name`` of each ``kind`` it names."""
    return f"vsyncer.customresources/{kind}"


def is_object_name(value: Any) -> bool:
    """Whether ``value`` is a DNS-1123 subdomain of at most 253 characters."""
    return isinstance(value, str) and len(value) <= 253 and bool(_SUBDOMAIN.fullmatch(value))


def _refused(path: str, message: str) -> Refused:
    return Refused(reason="custom_resource_patch", message=f"{path}: {message}")


def _steps(path: str) -> list[tuple[str, bool]]:
    """``spec.targets[*].name`` → ``[("spec", False), ("targets", True), ("name", False)]``."""
    return [(part.removesuffix("[*]"), part.endswith("[*]")) for part in path.split(".")]


def _rewrite(
    node: Any, steps: list[tuple[str, bool]], change: Callable[[Any, str], Any], where: str
) -> None:
    """Replace, in place, the value at ``steps`` under ``node`` by ``change(value, path)``."""
    (key, every), rest = steps[0], steps[1:]
    if not isinstance(node, dict) or key not in node:
        return
    here = f"{where}.{key}" if where else key
    if every:
        elements = node[key]
        if not isinstance(elements, list):
            raise _refused(here, "is not a list")
        for i, element in enumerate(elements):
            if rest:
                _rewrite(element, rest, change, f"{here}[{i}]")
            else:
                elements[i] = change(element, f"{here}[{i}]")
    elif rest:
        _rewrite(node[key], rest, change, here)
    else:
        node[key] = change(node[key], here)


def _found(node: Any, steps: list[tuple[str, bool]], where: str) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every value at ``steps`` under ``node`` (a cached, read-only
    object too)."""
    (key, every), rest = steps[0], steps[1:]
    if not isinstance(node, Mapping) or key not in node:
        return
    here = f"{where}.{key}" if where else key
    if every and isinstance(node[key], list):
        for i, element in enumerate(node[key]):
            if rest:
                yield from _found(element, rest, f"{here}[{i}]")
            else:
                yield f"{here}[{i}]", element
    elif every:
        return  # not a list: apply_patches refuses it
    elif rest:
        yield from _found(node[key], rest, here)
    else:
        yield here, node[key]


def references(body: Any, patches: Iterable[FieldPatch]) -> list[Reference]:
    """The well-formed names ``body``'s ``reference`` patches point at (ill-formed ones are
    left to :func:`apply_patches`, which refuses them).  Pure."""
    found = []
    for patch in patches:
        if patch.type == "reference" and patch.kind is not None:
            for path, value in _found(body, _steps(patch.path), ""):
                if is_object_name(value):
                    found.append(Reference(field=path, kind=patch.kind, name=value))
    return found


def apply_patches(
    body: Json, patches: Iterable[FieldPatch], *, namespace: str, translator: Translator
) -> Json:
    """``body`` (a host object's content) with ``patches`` applied; raises :class:`Refused`."""
    out: Json = thaw(body)

    def selector(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _refused(path, "is not a label selector")
        if not value or set(value) <= _SELECTOR_KEYS:
            return pod_selector(value, namespace=namespace, translator=translator, path=path)
        if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return translator.translate_selector(value, namespace=namespace)
        raise _refused(path, "is neither a LabelSelector nor a map of labels")

    def name(value: Any, path: str) -> Any:
        if not isinstance(value, str) or not value:
            raise _refused(path, "is not a name")
        ambiguous = ambiguous_rewrite(translator, namespace=namespace, name=value, path=path)
        if ambiguous is not None:
            raise ambiguous
        return translator.host_name(namespace, value)

    def reference(value: Any, path: str) -> Any:
        if not is_object_name(value):
            raise _refused(path, "is not an object name of this namespace")
        return translator.host_name(namespace, value)

    changes = {"labelSelector": selector, "rewriteName": name, "reference": reference}
    for patch in patches:
        change = changes[patch.type]
        _rewrite(out, _steps(patch.path), change, "")
    return out
