"""The settings of the optional toHost kinds: priority classes, ingresses and budgets.

:class:`KindFields` is a pydantic model that :class:`~syncer.settings.Settings`
inherits, so these fields are read, validated and reported (one line naming the
variable, exit 2) like the others.  Lists are comma-separated in the
environment, lists or the same string in YAML.

* ``to_host_priority_classes`` (``VSYNCER_TO_HOST_PRIORITY_CLASSES``): the
  tenant's PriorityClasses are synced to the host (:mod:`mappers.priorityclasses_tohost`)
  and the kind ``priorityclasses.scheduling.k8s.io`` runs without being listed
  in ``VSYNCER_KINDS``.  Listed there, the kind means the host's classes copied
  into the virtual cluster (fromHost); as in vcluster, where
  ``sync.toHost.priorityClasses`` and ``sync.fromHost.priorityClasses`` exclude
  each other, asking for both is a start-up error naming this setting.
* ``ingress_hosts`` (``VSYNCER_INGRESS_HOSTS``): host name patterns
  (:func:`fnmatch.fnmatchcase`, so ``*.team-a.example.com``) every
  ``rules[].host`` and ``tls[].hosts[]`` of a virtual Ingress must match
  (:mod:`mappers.ingresshosts`); set, a rule without a host (every host) is
  refused too.  Empty (the default): every host passes, as in vcluster.
* ``ingress_classes`` (``VSYNCER_INGRESS_CLASSES``): the ``ingressClassName``
  values a virtual Ingress may use; set, an Ingress without one (the host's
  default class) is refused.  Empty (the default): every class.
* ``pdb_no_disruption`` (``VSYNCER_PDB_NO_DISRUPTION``): what becomes of a
  tenant PodDisruptionBudget that allows no disruption at all (``maxUnavailable:
  0``, ``minAvailable: 100%`` or at least the pods it counts), which would stop
  every drain of the host nodes its pods run on (:mod:`mappers.pdbs`):
  ``clamp`` (the default) lets one pod go at a time, ``refuse`` keeps it off the
  host, ``allow`` passes it through as vcluster does.
* ``service_account_annotations`` (``VSYNCER_SERVICE_ACCOUNT_ANNOTATIONS``):
  annotation key patterns copied onto the host copies of the ``serviceaccounts``
  kind (:mod:`mappers.serviceaccounts`); others stay virtual.  Default
  :data:`DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS`, the workload-identity keys.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic_settings import NoDecode

from syncer.errors import ConfigError

#: The kind the toHost priority classes run as.
PRIORITY_CLASSES_KIND = "priorityclasses.scheduling.k8s.io"
#: The workload-identity annotations of EKS (IRSA), GKE and Azure, copied by default.
DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS = (
    "eks.amazonaws.com/role-arn",
    "iam.gke.io/gcp-service-account",
    "azure.workload.identity/client-id",
)
_ANNOTATION_PATTERN = re.compile(r"[A-Za-z0-9*?.\-_/]+")
_HOST_PATTERN = re.compile(r"[a-z0-9*?.\-]+")
_CLASS = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def _listed(value: Any) -> list[str]:
    """The kinds of a raw ``kinds`` value (a comma-separated string or a list), cleaned."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [str(part).strip().lower() for part in parts]


class KindFields(BaseModel):
    """The optional toHost kinds' fields of :class:`~syncer.settings.Settings` (see the module)."""

    to_host_priority_classes: bool = False
    ingress_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    ingress_classes: Annotated[tuple[str, ...], NoDecode] = ()
    pdb_no_disruption: Literal["clamp", "refuse", "allow"] = "clamp"
    service_account_annotations: Annotated[tuple[str, ...], NoDecode] = (
        DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS
    )

    @model_validator(mode="before")
    @classmethod
    def _priority_classes_kind(cls, data: Any) -> Any:
        """With toHost priority classes, their kind joins ``kinds``; listed there already (the
        fromHost copies) it is a :class:`ConfigError` naming the setting (not a ValueError, so
        that it is reported as itself)."""
        if not isinstance(data, dict):
            return data
        try:
            wanted = TypeAdapter(bool).validate_python(data.get("to_host_priority_classes", False))
        except ValidationError:
            return data  # the field's own validation reports it
        if not wanted:
            return data
        kinds = data.get("kinds")
        default = cls.model_fields["kinds"].default if "kinds" in cls.model_fields else ()
        listed = _listed(kinds) if kinds is not None else list(default)
        if PRIORITY_CLASSES_KIND in listed:
            raise ConfigError(
                "VSYNCER_TO_HOST_PRIORITY_CLASSES",
                f"cannot be on while VSYNCER_KINDS lists {PRIORITY_CLASSES_KIND} (the host's"
                " classes copied into the virtual cluster): priority classes sync one way only",
            )
        return {**data, "kinds": [*listed, PRIORITY_CLASSES_KIND]}

    @field_validator(
        "ingress_hosts", "ingress_classes", "service_account_annotations", mode="before"
    )
    @classmethod
    def _split_kind_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("ingress_hosts")
    @classmethod
    def _host_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not _HOST_PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"{pattern!r} is not a host name pattern such as *.team-a.example.com"
                )
        return value

    @field_validator("ingress_classes")
    @classmethod
    def _ingress_classes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _CLASS.fullmatch(name):
                raise ValueError(f"{name!r} is not an IngressClass name such as nginx")
        return value

    @field_validator("service_account_annotations")
    @classmethod
    def _annotation_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not _ANNOTATION_PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"{pattern!r} is not an annotation key pattern such as eks.amazonaws.com/*"
                )
        return value
