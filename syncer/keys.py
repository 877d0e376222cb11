"""Object keys: the only thing a work queue ever holds.

An :class:`ObjectKey` names one object of one kind.  Queues hold the *virtual*
key; host events are mapped to it before they are enqueued.  Keys are frozen,
hashable and cheap to compare.
"""

from __future__ import annotations

from typing import NamedTuple


class ObjectKey(NamedTuple):
    """``(kind, namespace, name)``; ``namespace`` is ``""`` for cluster-scoped objects."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}:{self.namespace}/{self.name}"
        return f"{self.kind}:{self.name}"
