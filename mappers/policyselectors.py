"""Label selectors of policy kinds (network policies, disruption budgets), as the host reads them.

On the host every pod of every virtual namespace of this vcluster lives in one
host namespace, under translated label keys, next to the host's own pods and
maybe other vclusters' pods.  A selector copied as it is would select across
all of them.  So every selector that reaches the host is translated and
confined (vcluster's rule for selectors; the REFERENCE section "Labels and
annotations on host objects"):

* :func:`pod_selector` — a pod selector of one virtual namespace: keys
  translated (:meth:`Translator.translate_label_key`) and the marker terms
  ``vcluster.loft.sh/managed-by=<vcluster>`` and
  ``vcluster.loft.sh/namespace=<virtual ns>`` added.  An empty selector
  (every pod) becomes every pod of that virtual namespace of this vcluster.
* :func:`namespaced_pod_selector` — a pod selector over the namespaces a
  ``namespaceSelector`` picks: the namespace selector's keys become the keys
  under which host pods carry their virtual namespace's labels
  (:meth:`Translator.namespace_label_key`, ``vcluster.loft.sh/ns-label-…``,
  written by the pods mapper on every host pod), the pod selector's keys are
  translated, and ``managed-by=<vcluster>`` is added.  ``namespaceSelector: {}``
  thus becomes every pod of this vcluster.

Either way the result requires ``managed-by=<vcluster>``, a label only this
syncer sets (a tenant's own ``vcluster.loft.sh/…`` labels are renamed on the
host), so it never matches a host pod of the host's own or of another
vcluster.  The property tests in ``tests/mappers/test_policyselectors.py``
check that against every selector and pod label set they generate.

A ``LabelSelector`` or requirement key vsyncer does not know (a newer API
server's) is refused (:class:`~syncer.api.Refused`, reason ``unknown_field``),
never passed.  Pure functions; the input is never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappers.servicespec import unknown_field
from syncer.api import MANAGED_BY_LABEL, Translator
from syncer.kit import Json, items, mapping

#: The fields of a v1.36 ``LabelSelector`` and of one of its requirements.
SELECTOR_FIELDS = frozenset({"matchLabels", "matchExpressions"})
REQUIREMENT_FIELDS = frozenset({"key", "operator", "values"})


def check_selector(selector: Mapping[str, Any], *, path: str) -> None:
    """Raise ``Refused`` (``unknown_field``) naming the first field not in a LabelSelector."""
    for field in sorted(selector):
        if field not in SELECTOR_FIELDS:
            raise unknown_field(f"{path}.{field}", "LabelSelector")
    for i, requirement in enumerate(items(selector.get("matchExpressions"))):
        for field in sorted(mapping(requirement)):
            if field not in REQUIREMENT_FIELDS:
                raise unknown_field(
                    f"{path}.matchExpressions[{i}].{field}", "LabelSelectorRequirement"
                )


def pod_selector(
    selector: Mapping[str, Any], *, namespace: str, translator: Translator, path: str
) -> Json:
    """``selector`` over pods of virtual namespace ``namespace``, as the host must read it.

    Raises ``Refused`` for an unknown field (``path`` names the selector in messages).
    """
    check_selector(selector, path=path)
    return translator.translate_label_selector(selector, namespace=namespace)


def namespaced_pod_selector(
    *,
    pods: Mapping[str, Any] | None,
    namespaces: Mapping[str, Any],
    translator: Translator,
    path: str,
) -> Json:
    """Pods matching ``pods`` (``None``: all) in the namespaces ``namespaces`` matches.

    One host selector over the host pods of this vcluster: the namespace
    requirements read the copied namespace labels.  Raises ``Refused`` for an
    unknown field of either selector.
    """
    check_selector(namespaces, path=f"{path}.namespaceSelector")
    match_labels: dict[str, Any] = {}
    expressions: list[Any] = []
    if pods is not None:
        check_selector(pods, path=f"{path}.podSelector")
        for key, value in mapping(pods.get("matchLabels")).items():
            match_labels[translator.translate_label_key(key)] = value
        for requirement in items(pods.get("matchExpressions")):
            expressions.append(_requirement(requirement, key=translator.translate_label_key))
    for key, value in mapping(namespaces.get("matchLabels")).items():
        match_labels[translator.namespace_label_key(key)] = value
    for requirement in items(namespaces.get("matchExpressions")):
        expressions.append(_requirement(requirement, key=translator.namespace_label_key))
    match_labels[MANAGED_BY_LABEL] = translator.vcluster
    host: Json = {"matchLabels": match_labels}
    if expressions:
        host["matchExpressions"] = expressions
    return host


def _requirement(requirement: object, *, key: Any) -> Json:
    """A copy of one requirement with its key mapped by ``key`` (values copied, never shared)."""
    copied = dict(mapping(requirement))
    copied["key"] = key(str(copied.get("key", "")))
    if "values" in copied:
        copied["values"] = list(items(copied["values"]))
    return copied
