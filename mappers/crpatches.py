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
                   another object of the namespace that is synced to the host
=================  ===========================================================

A path that is absent in the object is skipped; a value of the wrong shape
(not a selector, not a string) refuses the object (:class:`~syncer.api.Refused`,
reason ``custom_resource_patch``), as any field vsyncer cannot make safe.
Pure functions; the input is never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mappers.policyselectors import pod_selector
from syncer.api import FieldPatch, Refused, Translator, thaw
from syncer.kit import Json

_SELECTOR_KEYS = frozenset({"matchLabels", "matchExpressions"})


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
        return translator.host_name(namespace, value)

    for patch in patches:
        change = selector if patch.type == "labelSelector" else name
        _rewrite(out, _steps(patch.path), change, "")
    return out
