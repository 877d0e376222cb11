"""The isolation settings: the ``VSYNCER_ISOLATION*`` fields of :class:`~syncer.settings.Settings`.

:class:`IsolationFields` is a pydantic model that :class:`~syncer.settings.Settings`
inherits, so these fields are read, validated and reported (one line naming the
variable, exit 2) exactly like the others.  Lists are comma-separated in the
environment and lists or the same string in YAML.  Off by default.

* ``isolation`` turns it on (:mod:`syncer.isolation`).
* ``isolation_quota``, ``isolation_limit_default``,
  ``isolation_limit_default_request``: ``resource=quantity`` entries over
  vcluster's defaults (:mod:`syncer.isolation_objects`); ``resource=`` (no
  quantity) removes that default.
* ``isolation_network_policy`` (default true): keep the workloads'
  NetworkPolicy; ``isolation_public_egress`` (default true): let workloads reach
  public addresses; ``isolation_allow_cidrs`` / ``isolation_allow_namespaces``:
  the allow-list added to both directions.
* ``isolation_control_plane_labels``: ``key=value`` labels of the control plane
  pod (default ``release=<vcluster>``, as vcluster labels its control plane).
* ``isolation_label_namespace`` (default false): vsyncer may set the host
  namespace's ``pod-security.kubernetes.io/enforce`` label to
  ``VSYNCER_POD_SECURITY_LEVEL`` (needs ``patch`` on that one Namespace).
* ``isolation_resync`` (default 60): seconds between full checks of the
  isolation objects, besides the watch events that restore them at once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from syncer.boundary_settings import validate_cidrs
from syncer.isolation_objects import parse_overrides

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _check_label_pair(entry: str) -> None:
    key, sep, value = entry.partition("=")
    prefix, slash, name = key.rpartition("/")
    ok_key = (
        bool(sep)
        and len(name) <= 63
        and bool(_LABEL_NAME.fullmatch(name))
        and (not slash or (len(prefix) <= 253 and bool(_PREFIX.fullmatch(prefix))))
    )
    if not ok_key or len(value) > 63 or (value and not _LABEL_NAME.fullmatch(value)):
        raise ValueError(f"{entry!r} is not a label key=value (such as app=vcluster)")


class IsolationFields(BaseModel):
    """The isolation block of :class:`~syncer.settings.Settings` (see the module docstring)."""

    isolation: bool = False
    isolation_quota: Annotated[tuple[str, ...], NoDecode] = ()
    isolation_limit_default: Annotated[tuple[str, ...], NoDecode] = ()
    isolation_limit_default_request: Annotated[tuple[str, ...], NoDecode] = ()
    isolation_network_policy: bool = True
    isolation_public_egress: bool = True
    isolation_allow_cidrs: Annotated[tuple[str, ...], NoDecode] = ()
    isolation_allow_namespaces: Annotated[tuple[str, ...], NoDecode] = ()
    isolation_control_plane_labels: Annotated[tuple[str, ...], NoDecode] = ()
    isolation_label_namespace: bool = False
    isolation_resync: float = Field(default=60, gt=0)

    @field_validator(
        "isolation_quota",
        "isolation_limit_default",
        "isolation_limit_default_request",
        "isolation_allow_cidrs",
        "isolation_allow_namespaces",
        "isolation_control_plane_labels",
        mode="before",
    )
    @classmethod
    def _split_isolation_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator(
        "isolation_quota", "isolation_limit_default", "isolation_limit_default_request"
    )
    @classmethod
    def _quantities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_overrides(value)  # ValueError: one line naming the entry
        return value

    @field_validator("isolation_allow_cidrs")
    @classmethod
    def _allow_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return validate_cidrs(value)

    @field_validator("isolation_allow_namespaces")
    @classmethod
    def _allow_namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for namespace in value:
            if len(namespace) > 63 or not _LABEL.fullmatch(namespace):
                raise ValueError(f"{namespace!r} is not a namespace name")
        return value

    @field_validator("isolation_control_plane_labels")
    @classmethod
    def _control_plane_labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            _check_label_pair(entry)
        return value
