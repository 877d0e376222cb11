"""Kubernetes ``LabelSelector`` semantics for tests: in memory, and as a LIST's query string.

:func:`selects` is what ``metav1.LabelSelectorAsSelector`` makes of a selector
(``matchLabels`` equalities and ``In``/``NotIn``/``Exists``/``DoesNotExist``
requirements, all of which must hold; ``NotIn`` and ``DoesNotExist`` hold for
an absent key); :func:`query` writes the same selector in the API server's
``labelSelector`` query syntax, so an end-to-end test can ask the real API
server which objects a selector picks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether ``selector`` picks an object labelled ``labels``."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement["key"], requirement["operator"]
        values = set(requirement.get("values") or [])
        present = key in labels
        holds = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not holds:
            return False
    return True


def query(selector: Mapping[str, Any]) -> str:
    """``selector`` as a ``labelSelector`` query parameter (``k=v,k in (a,b),!k``)."""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement["key"], requirement["operator"]
        values = ",".join(sorted(requirement.get("values") or []))
        terms.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[operator]
        )
    return ",".join(terms)
