"""Label selectors of a pod spec, as the host must read them.

Pod (anti-)affinity terms and topology spread constraints select pods by label.
On the host, every pod of the vcluster lives in one namespace under translated
label keys, so each selector is translated (:meth:`Translator.translate_label_selector`)
and confined: to this vcluster and to the pod's virtual namespace, or to the
virtual namespaces the term names.  Pure functions over a mutable spec copy.
"""

from __future__ import annotations

from syncer.api import MANAGED_BY_LABEL, NAMESPACE_LABEL, Translator
from syncer.kit import Json, items, mapping


def translate_pod_selectors(spec: Json, *, namespace: str, translator: Translator) -> None:
    """Translate every affinity term and topology spread constraint of ``spec`` in place."""
    _translate_affinity(spec, namespace=namespace, translator=translator)
    for constraint in items(spec.get("topologySpreadConstraints")):
        _translate_selector_term(constraint, namespace=namespace, translator=translator)


def _translate_affinity(spec: Json, *, namespace: str, translator: Translator) -> None:
    affinity = mapping(spec.get("affinity"))
    for kind in ("podAffinity", "podAntiAffinity"):
        rules = mapping(affinity.get(kind))
        for term in items(rules.get("requiredDuringSchedulingIgnoredDuringExecution")):
            _translate_affinity_term(term, namespace=namespace, translator=translator)
        for weighted in items(rules.get("preferredDuringSchedulingIgnoredDuringExecution")):
            term = mapping(weighted).get("podAffinityTerm")
            if isinstance(term, dict):
                _translate_affinity_term(term, namespace=namespace, translator=translator)


def _translate_selector_term(term: Json, *, namespace: str, translator: Translator) -> None:
    """``labelSelector`` and ``matchLabelKeys``/``mismatchLabelKeys`` of one term."""
    selector = term.get("labelSelector")
    if isinstance(selector, dict):
        term["labelSelector"] = translator.translate_label_selector(selector, namespace=namespace)
    for keys in ("matchLabelKeys", "mismatchLabelKeys"):
        if isinstance(term.get(keys), list):
            term[keys] = [translator.translate_label_key(k) for k in term[keys]]


def _translate_affinity_term(term: Json, *, namespace: str, translator: Translator) -> None:
    """One pod (anti-)affinity term, confined to the namespaces it names, on the host.

    On the host every pod of the vcluster lives in one namespace, so the term's
    namespace scope becomes label terms: ``namespaces`` → the virtual namespace
    label ``In`` those; a ``namespaceSelector`` (when no ``namespaces`` are
    listed) → the same selector over the copied namespace labels; neither → the
    pod's own virtual namespace.  (Kubernetes takes the *union* of both fields;
    a single selector cannot, so with both the list wins.)
    """
    namespaces = [n for n in items(term.pop("namespaces", None)) if isinstance(n, str)]
    namespace_selector = term.pop("namespaceSelector", None)
    _translate_selector_term(term, namespace=namespace, translator=translator)
    selector = term.get("labelSelector")
    if not isinstance(selector, dict) or (not namespaces and namespace_selector is None):
        return
    match_labels = selector["matchLabels"]
    match_labels.pop(NAMESPACE_LABEL, None)
    match_labels[MANAGED_BY_LABEL] = translator.vcluster
    expressions = list(items(selector.get("matchExpressions")))
    if namespaces:
        expressions.append(
            {"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(set(namespaces))}
        )
    elif isinstance(namespace_selector, dict):
        for key, value in mapping(namespace_selector.get("matchLabels")).items():
            match_labels[translator.namespace_label_key(key)] = value
        for expression in items(namespace_selector.get("matchExpressions")):
            copied = dict(expression)
            copied["key"] = translator.namespace_label_key(str(expression.get("key")))
            expressions.append(copied)
    if expressions:
        selector["matchExpressions"] = expressions
