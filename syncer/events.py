"""Kubernetes Events in the virtual cluster about virtual objects.

Tenants see what the syncer could not do (a host object in the way, an object
the host rejected) with ``kubectl describe``.  Each call creates one new Event
(a random name suffix, ``count: 1``); callers decide how often to record.  An
Event the API server refuses or cannot be reached for (any
:class:`~syncer.errors.ApiError`, transport errors included) is logged at
warning and dropped; other exceptions propagate.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

import structlog

from syncer.api import VirtualApi
from syncer.errors import ApiError
from syncer.resources import EVENTS


class EventRecorder:
    """Writes ``v1`` Events against virtual objects."""

    def __init__(self, *, client: VirtualApi, component: str = "vsyncer") -> None:
        self._client = client
        self._component = component
        self._log = structlog.get_logger("vsyncer.events")

    async def record(
        self,
        obj: Mapping[str, Any],
        *,
        type_: str,
        reason: str,
        message: str,
        kind: str | None = None,
    ) -> None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta.get('name')}.{secrets.token_hex(8)}",
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": obj.get("apiVersion", "v1"),
                "kind": kind or obj.get("kind", ""),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "source": {"component": self._component},
            "reportingComponent": self._component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self._client.create(EVENTS, namespace=namespace, body=event)
        except ApiError as exc:
            self._log.warning("could not record event", reason=reason, error=str(exc))
