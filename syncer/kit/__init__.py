"""The mapper kit: what a plugin for a namespaced, copied kind is built from.

Everything here is public and built on :mod:`syncer.api` alone (the layer
test holds it to that), so a plugin imports ``syncer.api`` and ``syncer.kit``
and nothing else of the engine:

* :mod:`syncer.kit.objects` — readers that never raise on missing fields;
* :mod:`syncer.kit.metadata` — the host copy's name, labels and annotations;
* :mod:`syncer.kit.namespaced` — :class:`NamespacedMapper`, the name translation;
* :mod:`syncer.kit.copysync` — :class:`CopySyncer`, the reconcile of a copied
  kind (``synced_fields`` down, ``status_fields`` up) and its I/O steps;
* :mod:`syncer.kit.referenced` — :class:`ReferencedCopySyncer`, a copy kept
  only while another kind refers to it;
* :mod:`syncer.kit.fromhost` — :class:`FromHostCopier`, read-only virtual copies
  of a cluster-scoped host kind;
* :mod:`syncer.kit.testing` — an in-memory :class:`~syncer.api.SyncContext`
  for unit tests without a cluster.
"""

from __future__ import annotations

from syncer.kit.copysync import (
    CACHE_LAG_RETRY,
    HOST_REJECTED_RETRY,
    RECENT_SECONDS,
    CopySyncer,
    RecentCreates,
    create_on_host,
    delete_on_host,
    delete_virtual,
    own_copy_on_host,
    virtual_is_gone,
)
from syncer.kit.fromhost import FROM_HOST_LABEL, FromHostCopier, is_copy
from syncer.kit.metadata import (
    RESERVED_ANNOTATIONS,
    SYNCED_METADATA_ANNOTATION,
    host_metadata,
    tenant_annotations,
    with_metadata,
    without_annotations,
)
from syncer.kit.namespaced import NamespacedMapper
from syncer.kit.objects import (
    Json,
    annotations_of,
    is_terminating,
    items,
    key_of_virtual,
    labels_of,
    mapping,
    meta,
    name_of,
    namespace_of,
    no_keys,
    uid_of,
    virtual_uid_of_host,
)
from syncer.kit.referenced import ReferencedCopySyncer, index_value

__all__ = [
    "CACHE_LAG_RETRY",
    "FROM_HOST_LABEL",
    "HOST_REJECTED_RETRY",
    "RECENT_SECONDS",
    "RESERVED_ANNOTATIONS",
    "SYNCED_METADATA_ANNOTATION",
    "CopySyncer",
    "FromHostCopier",
    "Json",
    "NamespacedMapper",
    "RecentCreates",
    "ReferencedCopySyncer",
    "annotations_of",
    "create_on_host",
    "delete_on_host",
    "delete_virtual",
    "host_metadata",
    "index_value",
    "is_copy",
    "is_terminating",
    "items",
    "key_of_virtual",
    "labels_of",
    "mapping",
    "meta",
    "name_of",
    "namespace_of",
    "no_keys",
    "own_copy_on_host",
    "tenant_annotations",
    "uid_of",
    "virtual_is_gone",
    "virtual_uid_of_host",
    "with_metadata",
    "without_annotations",
]
