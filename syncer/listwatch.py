"""The ListerWatcher seam: what a reflector needs from an API server, and nothing more.

client-go's ``cache.ListerWatcher``: list one page, watch from a resourceVersion.
:class:`syncer.kube.KubeClient` satisfies it as it is; the in-memory
:class:`syncer.fakelistwatch.FakeListerWatcher` satisfies it for tests.

The contract an implementation keeps (the reflector relies on every point):

* :meth:`ListerWatcher.list` returns one page as a decoded ``List`` object:
  ``items`` and ``metadata.resourceVersion``, plus ``metadata.continue`` when
  more pages follow.  A continue token that has expired raises
  :class:`~syncer.errors.Gone`.
* :meth:`ListerWatcher.watch` yields decoded events ``{"type", "object"}`` with
  ``type`` one of ``ADDED``, ``MODIFIED``, ``DELETED``, ``BOOKMARK`` (the last
  only when ``allow_bookmarks``; its object carries only
  ``metadata.resourceVersion``).  The stream ending is normal (a timeout); the
  caller resumes from the last resourceVersion it saw.
* A resourceVersion too old to watch from raises :class:`~syncer.errors.Gone`;
  every other failure, transport included, raises another
  :class:`~syncer.errors.ApiError`.  Nothing else escapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from syncer.resources import Resource

Json = dict[str, Any]

__all__ = ["ListerWatcher"]


class ListerWatcher(Protocol):
    """Lists and watches one API server (see the module docstring for the contract)."""

    @property
    def cluster(self) -> str:
        """Which cluster this talks to, for logs."""
        ...

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> Json:
        """One page of a list."""
        ...

    def watch(
        self,
        resource: Resource,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[Json]:
        """Decoded watch events from ``resource_version`` until the stream ends."""
        ...
