"""The resource-model settings: fromHost selection and the custom resources to sync.

:class:`ResourceModelFields` is a pydantic model that
:class:`~syncer.settings.Settings` inherits, so these fields are read,
validated and reported (one line naming the variable, exit 2) like the others.

* ``from_host_label_selector`` (``VSYNCER_FROM_HOST_LABEL_SELECTOR``): the host
  objects the fromHost class kinds copy (storage, ingress, runtime and priority
  classes); a Kubernetes label selector (``k=v``, ``k!=v``, ``k``, ``!k``,
  ``k in (a,b)``, ``k notin (a,b)``, comma-joined); unset: every one.
* ``custom_resources`` (``VSYNCER_CUSTOM_RESOURCES``): a list of entries, a
  JSON array in the environment, a YAML list in the settings file; each entry
  ``{resource: widgets.example.com, version: v1, kind: Widget, scope:
  Namespaced, direction: toHost, labelSelector: ..., patches: [{path:
  spec.selector, type: labelSelector}]}``.  ``resource`` is the
  CustomResourceDefinition's name (``plural.group``, the group holding a dot),
  ``version`` the one used on both sides, ``kind`` and ``scope``
  (``Namespaced``, the default, or ``Cluster``) as the CRD says: vsyncer wires
  the kind before the CRD need exist (it may be installed on the host later),
  so they are stated here.  ``direction``: ``toHost`` (namespaced kinds only)
  or ``fromHost`` (cluster-scoped kinds only); ``labelSelector`` (fromHost)
  narrows the host objects copied; ``patches`` (toHost) rewrite fields on the
  way down (:mod:`mappers.crpatches`: ``labelSelector`` confines a selector to
  the object's namespace, ``rewriteName`` turns a name into its host name,
  ``reference`` with ``kind: secrets | configmaps | services |
  persistentvolumeclaims`` does too and makes that object synced while
  referenced).
  An entry naming a kind twice, or a kind of ``VSYNCER_KINDS``, is an error.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from syncer.customresources import CustomResource, FieldPatch, ReferenceKind
from syncer.resources import Resource

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\[\*\])?(\.[A-Za-z_][A-Za-z0-9_-]*(\[\*\])?)*")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = rf"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?{_NAME}"
_VALUE = rf"({_NAME})?"
_TERM = re.compile(
    rf"\s*(!\s*{_KEY}|{_KEY}\s*(==|=|!=)\s*{_VALUE}|{_KEY}"
    rf"|{_KEY}\s+(in|notin)\s+\(\s*{_VALUE}(\s*,\s*{_VALUE})*\s*\))\s*"
)


def check_label_selector(value: str) -> str:
    """``value`` if it is a Kubernetes label selector; else ValueError naming it."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(value):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(value[start:i])
            start = i + 1
    terms.append(value[start:])
    if not value.strip() or not all(_TERM.fullmatch(term) for term in terms):
        raise ValueError(f"{value!r} is not a label selector (such as tier=storage,!legacy)")
    return value


class PatchEntry(BaseModel):
    """One ``patches`` item of a toHost entry: ``{path: spec.selector, type: labelSelector}``,
    ``{path: spec.secretRef.name, type: reference, kind: secrets}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    type: Literal["labelSelector", "rewriteName", "reference"]
    kind: ReferenceKind | None = None

    @model_validator(mode="after")
    def _kind_fits(self) -> PatchEntry:
        if self.type == "reference" and self.kind is None:
            raise ValueError(f"patch {self.path!r}: a reference names its kind (such as secrets)")
        if self.type != "reference" and self.kind is not None:
            raise ValueError(f"patch {self.path!r}: kind is for type reference only")
        return self

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _PATH.fullmatch(value) or value.split(".")[0] in ("metadata", "status"):
            raise ValueError(
                f"patch path {value!r} is not a field path such as spec.targets[*].secretName"
                " (outside metadata and status)"
            )
        return value


class CustomResourceEntry(BaseModel):
    """One entry of ``VSYNCER_CUSTOM_RESOURCES`` (see the module)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    resource: str
    version: str
    kind: str
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"
    direction: Literal["toHost", "fromHost"]
    label_selector: str | None = Field(default=None, alias="labelSelector")
    patches: tuple[PatchEntry, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            known = {
                "resource",
                "version",
                "kind",
                "scope",
                "direction",
                "labelSelector",
                "patches",
            }
            unknown = sorted(str(key) for key in value if key not in known)
            if unknown:
                raise ValueError(
                    f"unknown key {unknown[0]!r} in an entry (known: {', '.join(sorted(known))})"
                )
        return value

    @field_validator("resource")
    @classmethod
    def _crd_name(cls, value: str) -> str:
        labels = value.split(".")
        if len(labels) < 3 or len(value) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
            raise ValueError(
                f"resource {value!r} is not plural.group with a dotted group"
                " (such as widgets.example.com)"
            )
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _LABEL.fullmatch(value):
            raise ValueError(f"version {value!r} is not a version such as v1")
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if not _KIND.fullmatch(value):
            raise ValueError(f"kind {value!r} is not a Kind such as Widget")
        return value

    @field_validator("label_selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        return None if value is None else check_label_selector(value)

    @model_validator(mode="after")
    def _direction_fits(self) -> CustomResourceEntry:
        if self.direction == "toHost" and self.scope == "Cluster":
            raise ValueError(f"{self.resource}: toHost needs a namespaced kind")
        if self.direction == "fromHost" and self.scope == "Namespaced":
            raise ValueError(f"{self.resource}: fromHost copies cluster-scoped kinds only")
        if self.direction == "toHost" and self.label_selector is not None:
            raise ValueError(f"{self.resource}: labelSelector is for fromHost only")
        if self.direction == "fromHost" and self.patches:
            raise ValueError(f"{self.resource}: patches are for toHost only")
        return self

    def custom_resource(self) -> CustomResource:
        plural, _, group = self.resource.partition(".")
        resource = Resource(group, self.version, plural, self.kind, self.scope == "Namespaced")
        return CustomResource(
            resource=resource,
            direction=self.direction,
            label_selector=self.label_selector,
            patches=tuple(FieldPatch(path=p.path, type=p.type, kind=p.kind) for p in self.patches),
        )


class ResourceModelFields(BaseModel):
    """The fromHost selector and custom-resource fields of the settings (see the module)."""

    from_host_label_selector: str | None = None
    custom_resources: Annotated[tuple[CustomResourceEntry, ...], NoDecode] = ()

    @field_validator("from_host_label_selector")
    @classmethod
    def _from_host_selector(cls, value: str | None) -> str | None:
        return None if value is None else check_label_selector(value)

    @field_validator("custom_resources", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"is not a JSON list of entries: {exc}") from None

    @field_validator("custom_resources")
    @classmethod
    def _distinct(cls, value: tuple[CustomResourceEntry, ...]) -> tuple[CustomResourceEntry, ...]:
        names = [entry.resource for entry in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"lists {', '.join(twice)} more than once")
        return value

    def custom_resource_list(self) -> tuple[CustomResource, ...]:
        """The entries as :class:`~syncer.customresources.CustomResource` values."""
        return tuple(entry.custom_resource() for entry in self.custom_resources)
