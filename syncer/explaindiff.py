"""The pure half of ``vsyncer explain``: whose a host object is, and how it differs.

:func:`ownership` classifies the live host object under a name by vcluster's
ownership rules, as the guarded writer applies them (:mod:`syncer.hostwriter`,
:meth:`~syncer.translate.Translator.is_owned`):

* ``missing`` — there is no host object;
* ``foreign`` — it has no ``vcluster.loft.sh/managed-by`` label: no syncer made it;
* ``another vcluster`` — the label names another virtual cluster;
* ``spoofed`` — the label names this vcluster, but the mapper does not take it
  as its own (the provenance annotations do not re-translate to the object's
  name, or name another kind), or it is ours for another virtual object than
  the one asked about (two virtual keys share a host name only through ``-x-``
  in their names: see :mod:`syncer.translate`);
* ``ours`` — the mapper manages it and it maps back to the virtual key asked
  about; for a kind whose host objects vsyncer only reads (the host nodes fake
  nodes mirror), the object the virtual one mirrors.

The mapper is asked first (``is_managed``, ``host_to_virtual``); the label
only says why an object the mapper refuses is not ours.  Only ``ours`` may be
written by vsyncer (where the kind writes at all); the others are never touched.

:func:`field_diff` compares the host object the mapper wants (its
``desired_host``, the translation of the virtual object) with the live one,
field by field, the way a server-side apply sees an applied configuration:
every field the desired object sets must have that value on the host; fields
only the host has are defaults the API server or a controller set, and do not
count — except in ``metadata.labels`` and ``metadata.annotations``, which the
syncer owns whole, where a key only the host has is reported.  Fields only the
server writes (``status``, ``metadata.uid``, ``resourceVersion``,
``generation``, ``creationTimestamp``, ``managedFields``, ``ownerReferences``,
``finalizers``, ``deletionTimestamp``, ``deletionGracePeriodSeconds``) are
never compared.  Lists are compared item by item when both have the same
length, else as a whole.  Paths are written ``spec.containers[0].image``, map
keys with dots or slashes as ``metadata.labels["app.kubernetes.io/name"]``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from syncer.keys import ObjectKey
from syncer.translate import MANAGED_BY_LABEL

__all__ = ["Difference", "Ownership", "Verdict", "field_diff", "ownership"]

_SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "ownerReferences",
        "finalizers",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)
_WHOLE_MAPS = frozenset({("metadata", "labels"), ("metadata", "annotations")})
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class Ownership(enum.Enum):
    MISSING = "missing"
    FOREIGN = "foreign"
    OTHER_VCLUSTER = "another vcluster"
    SPOOFED = "spoofed"
    OURS = "ours"


class Verdict(NamedTuple):
    """An ownership class and one line saying why."""

    ownership: Ownership
    reason: str


class Difference(NamedTuple):
    """One field: ``want`` is the desired value, ``have`` the host's (``None``: absent)."""

    path: str
    want: Any
    have: Any
    only_on_host: bool = False

    def __str__(self) -> str:
        if self.only_on_host:
            return f"{self.path}: only on the host ({self.have!r})"
        if self.have is None:
            return f"{self.path}: missing on the host (want {self.want!r})"
        return f"{self.path}: want {self.want!r}, host has {self.have!r}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def ownership(
    p_obj: Mapping[str, Any] | None,
    *,
    vcluster: str,
    is_managed: Callable[[Mapping[str, Any]], bool],
    host_to_virtual: Callable[[Mapping[str, Any]], ObjectKey | None],
    key: ObjectKey | None,
) -> Verdict:
    """Whose ``p_obj`` is, judged by the kind's mapper (its ``is_managed`` and
    ``host_to_virtual``); ``key``: the virtual key asked about, if any."""
    if p_obj is None:
        return Verdict(Ownership.MISSING, "no host object by that name")
    labels = _mapping(_mapping(p_obj.get("metadata")).get("labels"))
    marker = labels.get(MANAGED_BY_LABEL)
    if is_managed(p_obj):
        found = host_to_virtual(p_obj)
        if key is not None and found != key:
            return Verdict(
                Ownership.SPOOFED, f"ours, but the copy of {found}, not of {key}: a name collision"
            )
        if marker is None:  # a kind whose host objects are only read (fake nodes' host nodes)
            return Verdict(Ownership.OURS, "the host object this kind's virtual object mirrors")
        return Verdict(Ownership.OURS, "this vcluster's marker label and provenance")
    if marker is None:
        return Verdict(Ownership.FOREIGN, f"no {MANAGED_BY_LABEL} label: not made by a syncer")
    if marker != vcluster:
        return Verdict(Ownership.OTHER_VCLUSTER, f"{MANAGED_BY_LABEL}={marker!r}")
    return Verdict(
        Ownership.SPOOFED,
        "carries this vcluster's label, but its provenance annotations do not "
        "re-translate to its own name and kind",
    )


def _segment(key: str) -> str:
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f'["{key}"]'


def field_diff(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[Difference]:
    """The fields of ``want`` that ``have`` lacks or holds otherwise (module docstring)."""
    found: list[Difference] = []
    for key, value in want.items():
        if key == "status":
            continue
        if key == "metadata":
            meta_want = {k: v for k, v in _mapping(value).items() if k not in _SERVER_METADATA}
            _diff(meta_want, _mapping(have.get("metadata")), ("metadata",), "metadata", found)
            continue
        _compare(value, have.get(key), (key,), _segment(key)[1:] if key else key, found)
    return found


def _diff(
    want: Mapping[str, Any],
    have: Mapping[str, Any],
    where: tuple[str, ...],
    path: str,
    found: list[Difference],
) -> None:
    for key, value in want.items():
        _compare(value, have.get(key), (*where, key), path + _segment(key), found)
    if where in _WHOLE_MAPS:
        for key in sorted(set(have) - set(want)):
            found.append(Difference(path + _segment(key), None, have[key], only_on_host=True))


def _compare(
    want: Any, have: Any, where: tuple[str, ...], path: str, found: list[Difference]
) -> None:
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        _diff(want, have, where, path, found)
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for index, (w, h) in enumerate(zip(want, have, strict=True)):
            _compare(w, h, (*where, "[]"), f"{path}[{index}]", found)
    elif want != have and not (want in ({}, []) and have is None):
        found.append(Difference(path, want, have))
