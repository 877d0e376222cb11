"""Selector matching for objects held in memory: the scope of a list or watch.

What an API server does with ``namespace``, ``labelSelector`` and
``fieldSelector`` when it answers a list or watch, for the in-memory
:mod:`syncer.fakelistwatch`.

Guarantees:

* Label selector terms ``k=v``, ``k==v``, ``k!=v``, ``k`` and ``!k``, joined by
  commas, all of which must hold (set-based terms such as ``k in (a,b)`` are not
  supported and raise ``ValueError``).
* Field selector terms ``=``, ``==`` and ``!=`` on ``metadata.name`` and
  ``metadata.namespace``; any other field raises ``ValueError``.
* An empty or missing selector matches everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncer.resources import Resource

__all__ = ["ObjectFilter"]


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    """The objects of ``resource`` a list or watch with these parameters returns."""

    resource: Resource
    namespace: str | None
    label_selector: str | None
    field_selector: str | None

    def matches(self, obj: dict[str, Any]) -> bool:
        metadata = obj.get("metadata") or {}
        if self.namespace and metadata.get("namespace", "") != self.namespace:
            return False
        labels = metadata.get("labels") or {}
        fields = {
            "metadata.name": metadata.get("name", ""),
            "metadata.namespace": metadata.get("namespace", ""),
        }
        return _selects(self.label_selector, labels, any_key=True) and _selects(
            self.field_selector, fields, any_key=False
        )


def _selects(selector: str | None, values: dict[str, str], *, any_key: bool) -> bool:
    for term in (selector or "").split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            key, want = (part.strip() for part in term.split("!=", 1))
            negate = True
        elif "=" in term:
            key, want = (part.strip() for part in term.replace("==", "=").split("=", 1))
            negate = False
        elif any_key:
            if "(" in term or " " in term:
                raise ValueError(f"unsupported label selector term: {term!r}")
            key = term.lstrip("!").strip()
            if (key in values) == term.startswith("!"):
                return False
            continue
        else:
            raise ValueError(f"unsupported field selector term: {term!r}")
        if not any_key and key not in ("metadata.name", "metadata.namespace"):
            raise ValueError(f"unsupported field selector field: {key!r}")
        if (values.get(key) == want) == negate:
            return False
    return True
