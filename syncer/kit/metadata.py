"""The metadata of a host copy: name, namespace, labels and annotations (all pure).

:func:`host_metadata` builds a host object's name, namespace, labels and
annotations: translated labels with the marker labels, the tenant's
annotations *minus* every key in the syncers' key space (so a tenant cannot
spoof provenance), the provenance annotations, and the ``managed-labels`` /
``managed-annotations`` bookkeeping.  Given the current host object, keys
someone else added on the host survive and keys removed in virtual go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncer.api import (
    MANAGED_ANNOTATIONS_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_LABELS_ANNOTATION,
    NAMESPACE_LABEL,
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_HOST_NAMESPACE_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    OWNER_REFERENCES_ANNOTATION,
    Obj,
    Resource,
    Translator,
    is_reserved_key,
    managed_keys_annotation,
    merge_managed,
    parse_managed_keys,
    thaw,
)
from syncer.kit.objects import Json, annotations_of, labels_of, meta, name_of, namespace_of, uid_of

#: On a host pod: what was last synced of its labels and annotations (the pods mapper's merge).
SYNCED_METADATA_ANNOTATION = "vsyncer.dev/synced-metadata"
#: Annotation keys only the syncer writes; copies on a virtual object are dropped.
RESERVED_ANNOTATIONS = frozenset(
    {
        SYNCED_METADATA_ANNOTATION,
        OBJECT_NAME_ANNOTATION,
        OBJECT_NAMESPACE_ANNOTATION,
        OBJECT_UID_ANNOTATION,
        OBJECT_KIND_ANNOTATION,
        OBJECT_HOST_NAME_ANNOTATION,
        OBJECT_HOST_NAMESPACE_ANNOTATION,
        MANAGED_LABELS_ANNOTATION,
        MANAGED_ANNOTATIONS_ANNOTATION,
        OWNER_REFERENCES_ANNOTATION,
    }
)
_MARKER_LABELS = frozenset({MANAGED_BY_LABEL, NAMESPACE_LABEL})


# -- building host metadata -----------------------------------------------------------


def tenant_annotations(v_obj: Obj) -> dict[str, str]:
    """The virtual object's annotations that may be copied: none in the syncers' key space.

    A tenant's ``vcluster.loft.sh/…`` or ``vsyncer.dev/…`` annotation could pose as
    provenance, a recorded intent or a token's refresh time on the host, so none
    is copied (:func:`syncer.api.is_reserved_key`).
    """
    return {k: v for k, v in annotations_of(v_obj).items() if not is_reserved_key(k)}


def host_metadata(
    *,
    translator: Translator,
    resource: Resource,
    v_obj: Obj,
    p_obj: Obj | None = None,
    name: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    extra_annotations: Mapping[str, str] | None = None,
    drop_labels: Iterable[str] = (),
) -> Json:
    """``metadata`` of the host copy of ``v_obj``, merged into ``p_obj``'s when given.

    ``name`` overrides the virtual name the host object is derived from (its
    provenance then names that virtual name); ``drop_labels`` are virtual label
    keys never copied.  ``extra_labels`` count as managed labels;
    ``extra_annotations`` are the syncer's own (not listed in
    ``managed-annotations``) and should use keys of :data:`RESERVED_ANNOTATIONS`
    so that they are removed again when no longer wanted.
    """
    v_namespace = namespace_of(v_obj)
    v_name = name if name is not None else name_of(v_obj)
    p_name = translator.host_name(v_namespace, v_name)
    dropped = set(drop_labels)
    v_labels = {k: v for k, v in labels_of(v_obj).items() if k not in dropped}
    labels = translator.translate_labels(v_labels, namespace=v_namespace)
    labels.update(extra_labels or {})
    annotations = tenant_annotations(v_obj)
    managed_labels = set(labels) - _MARKER_LABELS
    managed_annotations = set(annotations)
    annotations.update(extra_annotations or {})
    annotations.update(
        translator.provenance_annotations(
            kind_string=resource.kind_string,
            namespace=v_namespace,
            name=v_name,
            uid=uid_of(v_obj),
            host_name=p_name,
        )
    )
    for key, keys in (
        (MANAGED_LABELS_ANNOTATION, managed_labels),
        (MANAGED_ANNOTATIONS_ANNOTATION, managed_annotations),
    ):
        if keys:
            annotations[key] = managed_keys_annotation(keys)
    if p_obj is not None:
        previous = annotations_of(p_obj)
        labels = merge_managed(
            desired=labels,
            current_host=labels_of(p_obj),
            previously_managed=parse_managed_keys(previous.get(MANAGED_LABELS_ANNOTATION)),
        )
        annotations = merge_managed(
            desired=annotations,
            current_host=previous,
            previously_managed=parse_managed_keys(previous.get(MANAGED_ANNOTATIONS_ANNOTATION))
            | RESERVED_ANNOTATIONS,
        )
    return {
        "name": p_name,
        "namespace": translator.host_namespace,
        "labels": labels,
        "annotations": annotations,
    }


def without_annotations(obj: Obj, keys: Iterable[str]) -> Obj:
    """A shallow view of ``obj`` whose annotations lack ``keys``."""
    dropped = set(keys)
    metadata = dict(meta(obj))
    metadata["annotations"] = {k: v for k, v in annotations_of(obj).items() if k not in dropped}
    return {**obj, "metadata": metadata}


def with_metadata(current: Obj, metadata: Mapping[str, Any]) -> Json:
    """A mutable copy of ``current`` carrying ``metadata``'s labels and annotations."""
    body = thaw(current)
    body.setdefault("metadata", {})
    body["metadata"]["labels"] = dict(metadata["labels"])
    body["metadata"]["annotations"] = dict(metadata["annotations"])
    return body
