"""Labels and annotations that change on both sides: a three-way merge (pods).

Someone may add, change or remove labels and annotations on a host pod; those
changes flow up to the virtual pod, and the virtual pod's flow down as ever
(as vcluster merges pod metadata).  Each reconcile merges, key by key, the
virtual map, the host map translated back into virtual keys, and the *last
state* both sides agreed on: a key changed on one side only takes that side's
state; changed on both, the virtual side wins (a virtual deletion included).

**Where the last state lives.**  On the host pod itself, in the annotation
:data:`SYNCED_METADATA_ANNOTATION`, written with every host write: for each
label and annotation that was synced, a short SHA-256 digest of its value, as
JSON.  So it survives restarts and leader changes, costs no memory, and stays
small even next to large annotation values (a digest is all the merge needs: a
side "changed" exactly when its value no longer matches the digest).  The
managed-keys bookkeeping alone would not do: it records *which* keys came from
virtual, not their values, so a host-side change of such a key could not be
told from a virtual one.  A host pod without the record (made by an earlier
version, or by vcluster) falls back to that bookkeeping: managed keys count as
unchanged on the host (the virtual side wins them), every other key on the
host as added there (it flows up).

**What takes part.**  Label keys of the syncer's own (``vcluster.loft.sh/…``:
the marker labels, the namespace labels ``ns-label-…``) never flow up; the
renamed colliding keys (``release``, ``vcluster.loft.sh/namespace`` …) are
translated back to the tenant's key; a host label literally named like a
colliding key cannot be told apart from the renamed one and stays on the
host.  Label keys the host label denylist denies (``grafana_dashboard`` …,
renamed on the host like colliding keys) take no part either way.  Annotation
keys ``vcluster.loft.sh/…`` and the syncer's reserved keys never flow up.
Virtual keys that cannot flow up are copied down one way, as before.

Ordering contract for the caller: write the merged maps to the virtual pod
*first*, then the host pod (with a fresh record).  A failure in between then
repeats the same merge; the other order could mistake host additions for
virtual deletions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from syncer.api import (
    COLLIDING_LABEL_KEYS,
    MANAGED_ANNOTATIONS_ANNOTATION,
    MANAGED_LABELS_ANNOTATION,
    Obj,
    Translator,
    is_reserved_key,
    parse_managed_keys,
    three_way_merge,
)
from syncer.kit import (
    SYNCED_METADATA_ANNOTATION,
    annotations_of,
    labels_of,
)

__all__ = [
    "SYNCED_METADATA_ANNOTATION",
    "MergedMetadata",
    "annotation_flows",
    "label_flows",
    "merge_pod_metadata",
    "synced_record",
]

_DIGEST_LENGTH = 16
#: A "last" value that equals no real one (label and annotation values hold no NUL).
_CHANGED_ON_BOTH = "\x00"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:_DIGEST_LENGTH]


def label_flows(key: str) -> bool:
    """Whether a virtual label key takes part in the merge (its host key maps back)."""
    return key in COLLIDING_LABEL_KEYS or not is_reserved_key(key)


def label_merges(translator: Translator, key: str) -> bool:
    """Whether a label key takes part in the merge: it flows and is not denied on the host."""
    return label_flows(key) and not translator.label_denylist.denies(key)


def annotation_flows(key: str) -> bool:
    """Whether an annotation key (the same on both sides) takes part in the merge."""
    return not is_reserved_key(key)


def host_labels_back(translator: Translator, host: Mapping[str, str]) -> dict[str, str]:
    """The host labels that take part in the merge, under their virtual keys."""
    renamed = {translator.translate_label_key(key): key for key in COLLIDING_LABEL_KEYS}
    back: dict[str, str] = {}
    for key, value in host.items():
        if key in renamed:
            back[renamed[key]] = value
        elif key not in COLLIDING_LABEL_KEYS and label_merges(translator, key):
            back[key] = value
    return back


@dataclass(frozen=True, slots=True)
class Sides:
    """One map (labels or annotations) on both sides, in virtual keys, merge keys only."""

    virtual: dict[str, str]
    host: dict[str, str]


def label_sides(translator: Translator, v_obj: Obj, p_obj: Obj) -> Sides:
    return Sides(
        virtual={k: v for k, v in labels_of(v_obj).items() if label_merges(translator, k)},
        host=host_labels_back(translator, labels_of(p_obj)),
    )


def annotation_sides(v_obj: Obj, p_obj: Obj) -> Sides:
    return Sides(
        virtual={k: v for k, v in annotations_of(v_obj).items() if annotation_flows(k)},
        host={k: v for k, v in annotations_of(p_obj).items() if annotation_flows(k)},
    )


def synced_record(v_obj: Obj) -> str:
    """The :data:`SYNCED_METADATA_ANNOTATION` value for a host pod made from ``v_obj`` now."""
    record = {
        "labels": {k: digest(v) for k, v in labels_of(v_obj).items() if label_flows(k)},
        "annotations": {
            k: digest(v) for k, v in annotations_of(v_obj).items() if annotation_flows(k)
        },
    }
    return json.dumps(record, separators=(",", ":"), sort_keys=True)


def _parse_record(p_obj: Obj) -> dict[str, dict[str, str]] | None:
    raw = annotations_of(p_obj).get(SYNCED_METADATA_ANNOTATION)
    try:
        record = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    parsed: dict[str, dict[str, str]] = {}
    for part in ("labels", "annotations"):
        digests = record.get(part)
        if not isinstance(digests, dict):
            return None
        parsed[part] = {str(k): str(v) for k, v in digests.items()}
    return parsed


def last_from_digests(digests: Mapping[str, str], sides: Sides) -> dict[str, str]:
    """The last agreed values, recovered from their digests and the current sides."""
    last: dict[str, str] = {}
    for key, wanted in digests.items():
        v_value, p_value = sides.virtual.get(key), sides.host.get(key)
        if v_value is not None and digest(v_value) == wanted:
            last[key] = v_value
        elif p_value is not None and digest(p_value) == wanted:
            last[key] = p_value
        else:
            last[key] = _CHANGED_ON_BOTH
    return last


def last_from_managed(managed: set[str], sides: Sides) -> dict[str, str]:
    """Fallback without a record: managed keys count as unchanged on the host."""
    return {key: value for key, value in sides.host.items() if key in managed}


@dataclass(frozen=True, slots=True)
class MergedMetadata:
    labels: dict[str, str]
    annotations: dict[str, str]


def merge_pod_metadata(translator: Translator, v_obj: Obj, p_obj: Obj) -> MergedMetadata:
    """The virtual pod's labels and annotations after merging in the host pod's changes.

    Keys that do not take part are kept as the virtual pod has them.
    """
    labels, annotations = label_sides(translator, v_obj, p_obj), annotation_sides(v_obj, p_obj)
    record = _parse_record(p_obj)
    if record is not None:
        last_labels = last_from_digests(record["labels"], labels)
        last_annotations = last_from_digests(record["annotations"], annotations)
    else:
        meta = annotations_of(p_obj)
        managed = parse_managed_keys(meta.get(MANAGED_LABELS_ANNOTATION))
        managed_labels = set(host_labels_back(translator, dict.fromkeys(managed, "")))
        last_labels = last_from_managed(managed_labels, labels)
        managed_annotations = parse_managed_keys(meta.get(MANAGED_ANNOTATIONS_ANNOTATION))
        last_annotations = last_from_managed(managed_annotations, annotations)
    merged_labels = three_way_merge(last=last_labels, virtual=labels.virtual, host=labels.host)
    merged_annotations = three_way_merge(
        last=last_annotations, virtual=annotations.virtual, host=annotations.host
    )
    kept_labels = {k: v for k, v in labels_of(v_obj).items() if not label_merges(translator, k)}
    kept_annotations = {k: v for k, v in annotations_of(v_obj).items() if not annotation_flows(k)}
    return MergedMetadata(
        labels={**kept_labels, **merged_labels},
        annotations={**kept_annotations, **merged_annotations},
    )
