"""The tenant-boundary settings: the fields of :class:`~syncer.settings.Settings` that relax
or tighten what a virtual object may carry to the host.

:class:`BoundaryFields` is a pydantic model that :class:`~syncer.settings.Settings`
inherits, so these fields are read, validated and reported (one line naming the
variable, exit 2) exactly like the others.  Lists are comma-separated in the
environment, lists or the same string in YAML.

* ``pod_security_level`` / ``pod_security_allow`` — the Pod Security Standards
  level a virtual pod must meet to be synced (:mod:`syncer.podsecurity`), and the
  controls or fields allowed past it anyway.
* ``pod_runtime_classes`` — the ``runtimeClassName``s a virtual pod may use
  besides the host classes copied by the ``runtimeclasses`` fromHost kind
  (:mod:`mappers.podplacement`): the host's RuntimeClass admission merges a
  class's tolerations and node selector into the pod.
* ``service_external_ip_cidrs`` — a Service's ``spec.externalIPs`` are refused
  unless inside one of these CIDRs.
* ``host_service_cidrs`` / ``endpoints_deny_cidrs`` — Endpoints addresses of
  selector-less services are refused inside the host's service CIDRs and these
  extra CIDRs (loopback, link-local and node addresses always are).
* ``ingress_annotations`` — the annotation keys (shell-style patterns, as
  :func:`fnmatch.fnmatchcase`) a virtual Ingress may carry to the host besides
  unprefixed keys; an ingress controller reads its annotations as configuration
  (snippets, auth URLs, secrets and services by name, resolved among the host's
  objects), so any other prefixed key is refused (:mod:`mappers.ingresses`).
  The default is :data:`DEFAULT_INGRESS_ANNOTATIONS`: ingress-nginx's routing,
  TLS-redirect, timeout, size and CORS keys, none of which names an object or URL.
* ``host_label_denylist`` — label keys (or key prefixes ending in ``*``) a tenant's
  object never carries to the host as they are: renamed like vcluster's colliding
  keys (:mod:`syncer.hostlabels`, whose default the module documents key by key).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, field_validator
from pydantic_settings import NoDecode

from syncer.hostlabels import DEFAULT_HOST_LABEL_DENYLIST, parse_entries
from syncer.podsecurity import validate_allow_entry

_NGINX = "nginx.ingress.kubernetes.io/"
#: Ingress annotation keys copied by default (see the module docstring).
DEFAULT_INGRESS_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "meta.helm.sh/*",
    *(
        _NGINX + key
        for key in (
            "rewrite-target",
            "use-regex",
            "ssl-redirect",
            "force-ssl-redirect",
            "backend-protocol",
            "proxy-body-size",
            "proxy-connect-timeout",
            "proxy-read-timeout",
            "proxy-send-timeout",
            "enable-cors",
            "cors-allow-methods",
            "cors-allow-headers",
            "cors-allow-credentials",
            "cors-max-age",
        )
    ),
)
_PATTERN = re.compile(r"[A-Za-z0-9*?.\-_/]+")
#: A DNS-1123 subdomain, the shape of a RuntimeClass name.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def validate_cidrs(value: tuple[str, ...]) -> tuple[str, ...]:
    """``value`` unchanged if every entry is an IPv4 or IPv6 CIDR (host bits allowed);
    raises ValueError naming the first entry that is not."""
    for cidr in value:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not a CIDR such as 10.0.0.0/8") from None
    return value


class BoundaryFields(BaseModel):
    """The boundary block of :class:`~syncer.settings.Settings` (see the module docstring)."""

    pod_security_level: Literal["privileged", "baseline", "restricted"] = "baseline"
    pod_security_allow: Annotated[tuple[str, ...], NoDecode] = ()
    pod_runtime_classes: Annotated[tuple[str, ...], NoDecode] = ()
    service_external_ip_cidrs: Annotated[tuple[str, ...], NoDecode] = ()
    host_service_cidrs: Annotated[tuple[str, ...], NoDecode] = ("10.96.0.0/12",)
    endpoints_deny_cidrs: Annotated[tuple[str, ...], NoDecode] = ()
    ingress_annotations: Annotated[tuple[str, ...], NoDecode] = DEFAULT_INGRESS_ANNOTATIONS
    host_label_denylist: Annotated[tuple[str, ...], NoDecode] = DEFAULT_HOST_LABEL_DENYLIST

    @field_validator(
        "pod_security_allow",
        "pod_runtime_classes",
        "service_external_ip_cidrs",
        "host_service_cidrs",
        "endpoints_deny_cidrs",
        "ingress_annotations",
        "host_label_denylist",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("pod_security_allow")
    @classmethod
    def _pod_security_allow(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            validate_allow_entry(entry)  # ValueError: a one-line reason naming the entry
        return value

    @field_validator("pod_runtime_classes")
    @classmethod
    def _runtime_classes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
                raise ValueError(f"{name!r} is not a RuntimeClass name such as gvisor")
        return value

    @field_validator("service_external_ip_cidrs", "host_service_cidrs", "endpoints_deny_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return validate_cidrs(value)

    @field_validator("ingress_annotations")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not _PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"{pattern!r} is not an annotation key pattern such as"
                    " nginx.ingress.kubernetes.io/proxy-*"
                )
        return value

    @field_validator("host_label_denylist")
    @classmethod
    def _label_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return parse_entries(value)  # ValueError: one line naming the entry
