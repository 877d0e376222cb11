"""Keys blocked by a host object that is not their copy: a long, growing backoff.

A virtual object whose translated host name is held by something that is not
its own copy — a foreign host object, or the copy of another virtual object —
cannot be synced until that object goes away (as in vcluster: anything on the
host that is not ours is never modified or deleted).  The engine cannot always
see it go: the host informers watch only objects carrying this vcluster's
marker label.  So a blocked key is looked at again after a delay that starts at
``initial`` seconds and doubles with every consecutive block of that key, up to
``maximum``; a successful reconcile of the key resets it.  When the blocker is
visible (it carries the marker label), its deletion is mapped back to the
blocked key by host name, so the key is retried at once.

Guarantees:

* :meth:`BlockedKeys.block` answers ``initial``, ``2 * initial``, … capped at
  ``maximum`` for consecutive blocks of one key; :meth:`BlockedKeys.clear`
  starts the key over.
* Memory is O(keys blocked now): a key leaves at its next success
  (:meth:`clear`), which every reconcile of a deleted virtual object is.
* :meth:`BlockedKeys.unblocked_by` hands out the key a host name blocks at
  most once per block.

Pure logic, no clock: the caller turns a delay into a timed revisit.
"""

from __future__ import annotations

from syncer.keys import ObjectKey
from syncer.store import Key

#: A blocked key is first looked at again after this many seconds …
BLOCKED_INITIAL = 30.0
#: … doubling per consecutive block up to this many.
BLOCKED_MAXIMUM = 600.0


class BlockedKeys:
    """Per-key backoff for keys whose host name is taken, and host name → blocked key."""

    def __init__(
        self, *, initial: float = BLOCKED_INITIAL, maximum: float = BLOCKED_MAXIMUM
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"need 0 < initial <= maximum, got {initial} and {maximum}")
        self._initial = initial
        self._maximum = maximum
        # key -> (the delay answered last, the host (namespace, name) that blocks it)
        self._delays: dict[ObjectKey, tuple[float, Key]] = {}
        # host (namespace, name) -> the key it blocks
        self._by_host: dict[Key, ObjectKey] = {}

    def __len__(self) -> int:
        return len(self._delays)

    def __contains__(self, key: object) -> bool:
        return key in self._delays

    def block(self, key: ObjectKey, host: Key) -> float:
        """Record that ``host`` (namespace, name) blocks ``key``; the seconds until a retry."""
        previous = self._delays.get(key)
        if previous is None:
            delay = self._initial
        else:
            delay = min(previous[0] * 2, self._maximum)
            if previous[1] != host and self._by_host.get(previous[1]) == key:
                del self._by_host[previous[1]]
        self._delays[key] = (delay, host)
        self._by_host[host] = key
        return delay

    def clear(self, key: ObjectKey) -> None:
        """``key`` synced (or needs nothing): forget its backoff and its blocker."""
        entry = self._delays.pop(key, None)
        if entry is not None and self._by_host.get(entry[1]) == key:
            del self._by_host[entry[1]]

    def unblocked_by(self, host: Key) -> ObjectKey | None:
        """The key that host object ``host`` blocked, now that it is gone; asked once."""
        return self._by_host.pop(host, None)
