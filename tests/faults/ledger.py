"""The test's own record of what it created and deleted, for the consistency checker.

A loss of both sides (a virtual object gone *and* its host copy gone) looks
consistent to a checker that only compares the two clusters; the ledger is the
third witness.  Keys are virtual keys ``ObjectKey(kind, namespace, name)``
with the kind's plural (``pods``, ``services``...).  A key deleted and then
created again is live again.  The ledger is plain bookkeeping: no I/O.
"""

from __future__ import annotations

from syncer.api import ObjectKey


class Ledger:
    """Created and deleted virtual keys, in order of the test's writes."""

    def __init__(self) -> None:
        self._created: set[ObjectKey] = set()
        self._deleted: set[ObjectKey] = set()
        self._refused: set[ObjectKey] = set()

    def created(self, key: ObjectKey) -> None:
        """The test created ``key`` (and saw the create succeed)."""
        self._created.add(key)
        self._deleted.discard(key)

    def deleted(self, key: ObjectKey) -> None:
        """The test deleted ``key``, or did something after which the syncer may delete it."""
        self._deleted.add(key)

    def refused(self, key: ObjectKey) -> None:
        """The syncer must refuse ``key`` (a tenant-boundary rule): no host copy may exist."""
        self._refused.add(key)

    def is_refused(self, key: ObjectKey) -> bool:
        return key in self._refused

    def live(self) -> frozenset[ObjectKey]:
        """Keys that must still exist in the virtual cluster."""
        return frozenset(self._created - self._deleted)

    def namespaces(self) -> frozenset[str]:
        """The virtual namespaces the test wrote in."""
        return frozenset(k.namespace for k in self._created | self._deleted if k.namespace)

    @property
    def created_count(self) -> int:
        return len(self._created)
