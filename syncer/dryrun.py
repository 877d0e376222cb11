"""Dry run: a cluster API that reads through and leaves out every write.

``vsyncer run --dry-run`` (``VSYNCER_DRY_RUN``) is for trying vsyncer on a
virtual cluster that another syncer serves today: it lists, watches and
reconciles as usual, and :mod:`syncer.pipeline` hands the sync layer a
:class:`DryRunApi` around each cluster's client instead of the client itself
(under the :class:`~syncer.echoes.RecordingApi`, so under the
:class:`~syncer.hostwriter.HostWriter` too: every check a real write gets, a
left-out write gets as well; and for the Events the
:class:`~syncer.events.EventRecorder` creates).

Guarantees:

* ``get`` reaches the cluster; ``create``, ``update``, ``update_status``,
  ``patch``, ``delete`` and ``create_subresource`` never do.  Each of them is
  logged (``dry run: write left out``, with cluster, kind, verb, namespace and
  name) and counted once in ``vsyncer_dry_run_writes_total{cluster,kind,verb}``
  (``kind`` is the resource's plural, as in the other per-kind metrics).
* The answer of a left-out write is what the API server would most plausibly
  have returned, built locally: the body (a create's gets the namespace and, if
  it has none, a random ``metadata.uid``), a merge patch applied to the live
  object by RFC 7386 (any other patch type: the live object unchanged), a
  ``Status`` of ``Success`` for a delete.  It never carries a
  ``resourceVersion`` (the server assigns none to a write it never got), so no
  watch event is ever
  taken for the echo of a left-out write (:mod:`syncer.echoes`), and caches
  keep showing the clusters as they really are: a key whose write was left out
  is reconciled — and its write counted — again at its next event or drift
  check.
* Writes that do not go through the sync layer are not covered: the daemon
  runs a dry run without leader election (:mod:`syncer.cli`), so it creates no
  Lease.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import structlog

from syncer.api import VirtualApi
from syncer.resources import Resource

__all__ = ["DryRunApi", "DryRunMetrics", "merge_patch", "write_paths"]

Json = dict[str, Any]


class DryRunMetrics(Protocol):
    def dry_run_write(self, *, cluster: str, kind: str, verb: str) -> None: ...


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with the JSON merge patch ``patch`` applied (RFC 7386); inputs are not changed.

    A patch that is not an object replaces the target; ``null`` members remove keys.
    """
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result: Json = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _answer(obj: Any) -> Json:
    """A deep copy of ``obj`` without ``metadata.resourceVersion``."""
    answer: Json = copy.deepcopy(dict(obj))
    metadata = answer.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("resourceVersion", None)
    return answer


class DryRunApi:
    """One cluster's API for the sync layer: reads pass through, writes are only counted."""

    def __init__(self, *, client: VirtualApi, cluster: str, metrics: DryRunMetrics) -> None:
        """``cluster``: ``host`` or ``virtual``, for the log and the metric."""
        self._client = client
        self._cluster = cluster
        self._metrics = metrics
        self._log = structlog.get_logger("vsyncer.dryrun").bind(cluster=cluster)

    def _left_out(
        self, resource: Resource, verb: str, *, namespace: str | None, name: str | None
    ) -> None:
        self._metrics.dry_run_write(cluster=self._cluster, kind=resource.plural, verb=verb)
        self._log.info(
            "dry run: write left out",
            kind=resource.plural,
            verb=verb,
            namespace=namespace or "",
            name=name or "",
        )

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Json:
        return await self._client.get(resource, namespace=namespace, name=name)

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Json:
        answer = _answer(body)
        metadata = answer.setdefault("metadata", {})
        if namespace:
            metadata["namespace"] = namespace
        metadata.setdefault("uid", str(uuid.uuid4()))
        self._left_out(resource, "create", namespace=namespace, name=metadata.get("name"))
        return answer

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        self._left_out(resource, "update", namespace=namespace, name=name)
        return _answer(body)

    async def update_status(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Json:
        self._left_out(resource, "update_status", namespace=namespace, name=name)
        return _answer(body)

    async def patch(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> Json:
        current = await self._client.get(resource, namespace=namespace, name=name)
        self._left_out(resource, "patch", namespace=namespace, name=name)
        patched = merge_patch(current, body) if patch_type == "merge" else current
        return _answer(patched if isinstance(patched, Mapping) else current)

    async def delete(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        name: str,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period_seconds: int | None = None,
        propagation: str | None = None,
    ) -> Json:
        self._left_out(resource, "delete", namespace=namespace, name=name)
        return {"kind": "Status", "apiVersion": "v1", "status": "Success"}

    async def create_subresource(
        self, resource: Resource, *, namespace: str | None, name: str, subresource: str, body: Any
    ) -> Json:
        self._left_out(resource, f"create_{subresource}", namespace=namespace, name=name)
        return _answer(body)


def write_paths(
    *, virtual: VirtualApi, host: VirtualApi, metrics: DryRunMetrics, dry_run: bool
) -> tuple[VirtualApi, VirtualApi]:
    """What the sync layer writes the virtual and the host cluster through: the clients
    themselves, or (``dry_run``) a :class:`DryRunApi` around each."""
    if not dry_run:
        return virtual, host
    return (
        DryRunApi(client=virtual, cluster="virtual", metrics=metrics),
        DryRunApi(client=host, cluster="host", metrics=metrics),
    )
