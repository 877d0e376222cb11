"""Ingresses (``networking.k8s.io/v1``): routes to the tenant's own services and certificates.

An optional toHost kind (``ingresses.networking.k8s.io`` in ``VSYNCER_KINDS``),
as vcluster's ingress syncer: the host's ingress controller serves the host
copy, so every name in it must be the host name of the tenant's object.

Guarantees, field by field (``IngressSpec`` of Kubernetes v1.36):

===================================  ===========================================
field                                on the host
===================================  ===========================================
``defaultBackend.service.name``,     the host name of that service of the
``rules[].http.paths[].backend``     ingress's namespace; ``port`` kept
``.service.name``
``…backend.resource``                refused (``ingress_backend``): it names an
                                     arbitrary object (``apiGroup``/``kind``/
                                     ``name``) that would resolve among the
                                     host's objects
``tls[].secretName``                 the host name of that secret; the secret is
                                     synced while an ingress refers to it (the
                                     referenced-copy rule of the secrets kind,
                                     through :data:`SECRET_INDEX`)
``tls[].hosts``, ``rules[].host``,   kept as they are, once allowed by
``ingressClassName``                 ``VSYNCER_INGRESS_HOSTS`` and
                                     ``VSYNCER_INGRESS_CLASSES`` (unset: any;
                                     else refused, ``ingress_host`` /
                                     ``ingress_class``:
                                     :mod:`mappers.ingresshosts`)
paths                                kept as they are
anything else                        refused (``unknown_field``)
===================================  ===========================================

Labels and annotations follow the rule of every copied kind
(:func:`syncer.kit.host_metadata`): keys under ``vcluster.loft.sh/`` and
``vsyncer.dev/`` never reach the host.  An ingress controller reads its
annotations as configuration (config snippets, auth URLs, secrets and services
by name, resolved among the host's objects), so a prefixed annotation key
reaches the host only when it matches one of ``VSYNCER_INGRESS_ANNOTATIONS``
(:attr:`~syncer.api.MapperConfig.ingress_annotations`); any other is refused
(``ingress_annotation``), as every unknown field is.  ``status`` (the load balancer's
addresses) comes up from the host copy.

Host names join parts with ``-x-``, so the host name of service ``a`` of
namespace ``b-x-c`` is also that of service ``a-x-b`` of namespace ``c``
(:mod:`mappers.collisions`).  A service or secret whose host name is ambiguous
must have its own copy there (this vcluster's copy of exactly that object)
before the ingress reaches the host; otherwise the ingress is refused
(``reference_collision``) and looked at again after
:data:`~mappers.collisions.PARTNER_RETRY` seconds, so the host controller never
routes to, or serves the certificate of, another namespace's object.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any, NamedTuple

from mappers.collisions import PARTNER_RETRY, cached_host, holds, is_ambiguous
from mappers.ingresshosts import check_class, check_hosts
from mappers.servicespec import unknown_field
from syncer.api import (
    INGRESSES,
    SECRETS,
    SERVICES,
    MapperConfig,
    Obj,
    Refused,
    Resource,
    SyncContext,
    Translator,
    thaw,
)
from syncer.kit import (
    CopySyncer,
    Json,
    index_value,
    items,
    mapping,
    namespace_of,
    tenant_annotations,
)

#: The index on the virtual ingresses store: ``ns/name`` of each TLS secret an ingress names.
SECRET_INDEX = "vsyncer.ingresses/secrets"

#: Every field of the v1.36 IngressSpec and of its parts.
SPEC_FIELDS = frozenset({"ingressClassName", "defaultBackend", "tls", "rules"})
BACKEND_FIELDS = frozenset({"service", "resource"})
SERVICE_BACKEND_FIELDS = frozenset({"name", "port"})
PORT_FIELDS = frozenset({"name", "number"})
TLS_FIELDS = frozenset({"hosts", "secretName"})
RULE_FIELDS = frozenset({"host", "http"})
HTTP_FIELDS = frozenset({"paths"})
PATH_FIELDS = frozenset({"path", "pathType", "backend"})


class Reference(NamedTuple):
    """An object of the ingress's namespace that it names, and the JSON path where."""

    resource: Resource
    name: str
    path: str


def _check_fields(value: Mapping[str, Any], known: frozenset[str], *, path: str, what: str) -> None:
    for field in sorted(value):
        if field not in known:
            raise unknown_field(f"{path}.{field}", what)


def _backends(spec: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every backend of ``spec`` with its JSON path."""
    if "defaultBackend" in spec:
        yield mapping(spec.get("defaultBackend")), "spec.defaultBackend"
    for i, rule in enumerate(items(spec.get("rules"))):
        for j, path in enumerate(items(mapping(mapping(rule).get("http")).get("paths"))):
            yield mapping(mapping(path).get("backend")), f"spec.rules[{i}].http.paths[{j}].backend"


def check_ingress_spec(spec: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` for a spec that must not reach the host (see the module table)."""
    _check_fields(spec, SPEC_FIELDS, path="spec", what="IngressSpec")
    for i, tls in enumerate(items(spec.get("tls"))):
        _check_fields(mapping(tls), TLS_FIELDS, path=f"spec.tls[{i}]", what="IngressTLS")
    for i, rule in enumerate(items(spec.get("rules"))):
        rule = mapping(rule)
        _check_fields(rule, RULE_FIELDS, path=f"spec.rules[{i}]", what="IngressRule")
        http = mapping(rule.get("http"))
        _check_fields(http, HTTP_FIELDS, path=f"spec.rules[{i}].http", what="HTTPIngressRuleValue")
        for j, path in enumerate(items(http.get("paths"))):
            where = f"spec.rules[{i}].http.paths[{j}]"
            _check_fields(mapping(path), PATH_FIELDS, path=where, what="HTTPIngressPath")
    for backend, where in _backends(spec):
        _check_fields(backend, BACKEND_FIELDS, path=where, what="IngressBackend")
        if "resource" in backend:
            kind = mapping(backend.get("resource")).get("kind") or "an object"
            raise Refused(
                reason="ingress_backend",
                message=f"{where}.resource: a backend naming {kind} could resolve to an object "
                "of the host; only service backends are synced",
            )
        service = mapping(backend.get("service"))
        _check_fields(service, SERVICE_BACKEND_FIELDS, path=f"{where}.service", what="Service")
        port = mapping(service.get("port"))
        _check_fields(port, PORT_FIELDS, path=f"{where}.service.port", what="ServiceBackendPort")


def references(spec: Mapping[str, Any]) -> list[Reference]:
    """The services and TLS secrets ``spec`` names (in the ingress's namespace), in order."""
    found = []
    for backend, where in _backends(spec):
        name = mapping(backend.get("service")).get("name")
        if isinstance(name, str) and name:
            found.append(Reference(SERVICES, name, f"{where}.service.name"))
    for i, tls in enumerate(items(spec.get("tls"))):
        name = mapping(tls).get("secretName")
        if isinstance(name, str) and name:
            found.append(Reference(SECRETS, name, f"spec.tls[{i}].secretName"))
    return found


def tls_secret_names(
    ingress: Obj, *, hosts: tuple[str, ...] = (), classes: tuple[str, ...] = ()
) -> frozenset[str]:
    """The TLS secrets a synced ingress refers to (none for an ingress that is refused, by
    its spec or by the allowed ``hosts`` and ``classes``)."""
    spec = mapping(ingress.get("spec"))
    try:
        check_ingress_spec(spec)
        check_hosts(spec, allowed=hosts)
        check_class(spec, allowed=classes)
    except Refused:
        return frozenset()
    return frozenset(r.name for r in references(spec) if r.resource == SECRETS)


def secret_index(
    ingress: Obj, *, hosts: tuple[str, ...] = (), classes: tuple[str, ...] = ()
) -> list[str]:
    """The :data:`SECRET_INDEX` values of ``ingress``: ``ns/name`` of each TLS secret."""
    names = tls_secret_names(ingress, hosts=hosts, classes=classes)
    return [index_value(namespace_of(ingress), name) for name in sorted(names)]


def host_ingress_spec(spec: Mapping[str, Any], *, namespace: str, translator: Translator) -> Json:
    """The host spec of an ingress of ``namespace``: names translated; raises :class:`Refused`."""
    check_ingress_spec(spec)
    host: Json = thaw(dict(spec))

    def rename(service: Json) -> None:
        if isinstance(service.get("name"), str) and service["name"]:
            service["name"] = translator.host_name(namespace, service["name"])

    if isinstance(host.get("defaultBackend"), dict):
        rename(mapping(host["defaultBackend"]).get("service") or {})
    for rule in items(host.get("rules")):
        for path in items(mapping(mapping(rule).get("http")).get("paths")):
            rename(mapping(mapping(path).get("backend")).get("service") or {})
    for tls in items(host.get("tls")):
        if isinstance(tls, dict) and isinstance(tls.get("secretName"), str) and tls["secretName"]:
            tls["secretName"] = translator.host_name(namespace, tls["secretName"])
    return host


def check_annotations(v_obj: Obj, *, allowed: tuple[str, ...] | None) -> None:
    """Raise :class:`Refused` (``ingress_annotation``) for a prefixed annotation key of the
    virtual ingress that matches none of ``allowed`` (``None``: every key is allowed)."""
    if allowed is None:
        return
    for key in sorted(tenant_annotations(v_obj)):
        if "/" in key and not any(fnmatch.fnmatchcase(key, p) for p in allowed):
            raise Refused(
                reason="ingress_annotation",
                message=f"metadata.annotations[{key!r}]: the ingress controller would read it as "
                "configuration; allow it with VSYNCER_INGRESS_ANNOTATIONS",
            )


def check_references(ctx: SyncContext, *, namespace: str, spec: Mapping[str, Any]) -> None:
    """Refuse (``reference_collision``) an ambiguous host name not held by the named object."""
    translator = ctx.translator
    for ref in references(spec):
        if not is_ambiguous(translator, namespace, ref.name):
            continue
        p_name = translator.host_name(namespace, ref.name)
        p_obj = cached_host(ctx, ref.resource, p_name)
        if p_obj is None or not holds(
            translator, p_obj, resource=ref.resource, namespace=namespace, name=ref.name
        ):
            raise Refused(
                reason="reference_collision",
                message=f"{ref.path}: host {ref.resource.kind.lower()} {p_name} could be another "
                f"virtual namespace's, and this namespace's {ref.name} is not synced there",
                retry_after=PARTNER_RETRY,
            )


class IngressMapper(CopySyncer):
    """Spec down with host names, status up (see the module)."""

    synced_fields = ("spec",)
    status_fields = ("status",)
    reads: frozenset[Resource] = frozenset()
    #: Host copies of the services and secrets it names, when those kinds run.
    may_read: frozenset[Resource] = frozenset({SERVICES, SECRETS})

    def __init__(self, *, translator: Translator, config: MapperConfig | None = None) -> None:
        super().__init__(resource=INGRESSES, translator=translator)
        config = config or MapperConfig()
        self.annotations = config.ingress_annotations
        self.hosts, self.classes = config.ingress_hosts, config.ingress_classes

    def indexes(self) -> Mapping[str, Callable[[Obj], Iterable[str]]]:
        return {SECRET_INDEX: partial(secret_index, hosts=self.hosts, classes=self.classes)}

    def desired_host(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> Json | None:
        """The host ingress; raises :class:`Refused` for one that must not reach the host."""
        body = super().desired_host(ctx, v_obj, p_obj)
        if body is None:
            return None
        spec, namespace = mapping(v_obj.get("spec")), namespace_of(v_obj)
        body["spec"] = host_ingress_spec(spec, namespace=namespace, translator=self.translator)
        check_hosts(spec, allowed=self.hosts)
        check_class(spec, allowed=self.classes)
        check_annotations(v_obj, allowed=self.annotations)
        check_references(ctx, namespace=namespace, spec=spec)
        return body

    def drift(self, ctx: SyncContext, v_obj: Obj, p_obj: Obj | None) -> str | None:
        """As for every copied kind; a refused ingress is not synced on purpose: no drift."""
        try:
            return super().drift(ctx, v_obj, p_obj)
        except Refused:
            return None


def make(*, translator: Translator, config: MapperConfig) -> IngressMapper:
    """Entry-point factory."""
    return IngressMapper(translator=translator, config=config)
