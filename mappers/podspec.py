"""Translating a virtual pod into its host pod: pure functions, one rule each.

:func:`translate_pod` applies vcluster's pod rules (toHost), with vsyncer's stricter checks:

* metadata: host name, translated labels plus the virtual namespace's labels
  (``ns-label`` keys), the tenant's annotations, provenance; virtual
  ownerReferences are kept as JSON in ``vcluster.loft.sh/owner-references``;
  the record of what was synced, for the merge of host-side changes
  (:mod:`mappers.metamerge`), in ``vsyncer.dev/synced-metadata``;
* a tenant-set ``nodeName`` is kept, so host and virtual agree on placement
  (the reconcile refuses a node the host lacks, or one whose taints the pod
  does not tolerate: :mod:`mappers.podplacement`); without one the host
  scheduler places the pod.  Dropped: the fields host admission computes from
  the class and would reject from a client (``priority``,
  ``preemptionPolicy``, ``overhead``) and ``ephemeralContainers`` (not allowed
  on create);
* ``priorityClassName`` is ``PodEnvironment.priority_class``: the host class
  (:mod:`mappers.podidentity`: the host copy of a toHost class, the name itself
  for fromHost classes and ``system-`` ones, else none);
* the pod runs as the host service account ``PodEnvironment.service_account``
  (:mod:`mappers.podidentity`; the virtual ``serviceAccountName`` is not
  copied), whose token is never mounted:
  ``automountServiceAccountToken=false``, ``enableServiceLinks=false``;
  instead every ``serviceAccountToken``
  projection (and the virtual CA next to it) reads from the syncer's token
  Secret (:mod:`mappers.tokens`);
* every place that names a configmap, secret or PVC — every volume source,
  projection, env and envFrom source, image pull secret, as walked by
  :func:`mappers.references.spec_sites`, the walk the reference indexes use —
  is renamed to the host name in the same virtual namespace (the
  ``kube-root-ca.crt`` configmap keeps its name: the host namespace's own);
  a volume, projection or env source that reads host state or that vsyncer
  does not know raises :class:`~syncer.api.Refused` (reasons
  ``volume_source``, ``env_source``, ``resource_claim``) naming the field;
* every downward-API field path reads the *virtual* value
  (:mod:`mappers.downward`: provenance and carried annotations, translated
  label keys); one without an equivalent is refused (``downward_api``);
* DNS: ``ClusterFirst`` becomes ``dnsPolicy: None`` with the virtual DNS
  nameserver and ``<ns>.svc.<domain>``, ``svc.<domain>``, ``<domain>``,
  ``ndots:5`` (the tenant's own ``dnsConfig`` entries follow ours);
  ``hostname`` defaults to the virtual pod name;
* ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_PORT*`` and ``hostAliases`` for the
  ``kubernetes`` names point at the virtual API server's service, when known;
* label selectors in pod (anti-)affinity and topology spread constraints are
  translated and confined to this vcluster (and the pod's virtual namespace,
  or the namespaces the term names): :mod:`mappers.podselectors`.

:func:`updated_host_pod` applies the updates Kubernetes allows on a running pod.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mappers.downward import UnsupportedField, downward_annotations, host_field_path
from mappers.metamerge import SYNCED_METADATA_ANNOTATION, synced_record
from mappers.podselectors import translate_pod_selectors
from mappers.references import (
    FIELD_REF,
    REFUSED,
    ROOT_CA_CONFIGMAP,
    is_synced,
    pod_references,
    spec_sites,
)
from mappers.tokens import CA_KEY, token_key
from syncer.api import (
    OWNER_REFERENCES_ANNOTATION,
    PODS,
    Obj,
    Refused,
    Translator,
    thaw,
)
from syncer.kit import (
    Json,
    host_metadata,
    items,
    mapping,
    name_of,
    namespace_of,
    with_metadata,
)

#: Used when neither a nameserver is configured nor a virtual ``kube-system/kube-dns``
#: service is known: kubeadm's conventional cluster-DNS address, a placeholder.
DEFAULT_NAMESERVER = "10.96.0.10"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"

_DROPPED_SPEC_FIELDS = (
    "serviceAccountName",
    "serviceAccount",
    "priority",
    "priorityClassName",
    "preemptionPolicy",
    "overhead",
    "ephemeralContainers",
)
_KUBERNETES_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc")


@dataclass(frozen=True, slots=True)
class PodEnvironment:
    """What a pod translation needs beyond the pod: read from the caches by the syncer."""

    nameserver: str = DEFAULT_NAMESERVER
    cluster_domain: str = DEFAULT_CLUSTER_DOMAIN
    api_host: str | None = None
    api_port: int = 443
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    token_secret: str | None = None
    """Host name of the pod's token Secret; ``None`` drops token projections."""
    service_account: str | None = None
    """The host service account (:mod:`mappers.podidentity`); ``None``: none named."""
    priority_class: str | None = None
    """The host ``priorityClassName`` (:mod:`mappers.podidentity`); ``None``: none."""


def translate_pod(
    v_pod: Obj, *, translator: Translator, env: PodEnvironment, p_pod: Obj | None = None
) -> Json:
    """The host pod for ``v_pod`` (merged with ``p_pod``'s metadata when given)."""
    namespace = namespace_of(v_pod)
    metadata = host_pod_metadata(v_pod, translator=translator, env=env, p_pod=p_pod)
    spec = thaw(mapping(v_pod.get("spec")))
    for key in _DROPPED_SPEC_FIELDS:
        spec.pop(key, None)
    if env.service_account:
        spec["serviceAccountName"] = env.service_account
    if env.priority_class:
        spec["priorityClassName"] = env.priority_class
    spec["automountServiceAccountToken"] = False
    spec["enableServiceLinks"] = False
    spec.setdefault("hostname", pod_hostname(name_of(v_pod)))
    _translate_dns(spec, namespace=namespace, env=env)
    _translate_sites(spec, namespace=namespace, translator=translator)
    _translate_token_projections(spec, env=env)
    _add_kubernetes_env(spec, env=env)
    translate_pod_selectors(spec, namespace=namespace, translator=translator)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def host_pod_metadata(
    v_pod: Obj, *, translator: Translator, env: PodEnvironment, p_pod: Obj | None = None
) -> Json:
    """Just the ``metadata`` of :func:`translate_pod` (the spec is not translated)."""
    owners = mapping(v_pod.get("metadata")).get("ownerReferences")
    extra = downward_annotations(v_pod, pod_references(v_pod).field_paths)
    extra[SYNCED_METADATA_ANNOTATION] = synced_record(v_pod)
    if owners:
        extra[OWNER_REFERENCES_ANNOTATION] = _compact_json(owners)
    return host_metadata(
        translator=translator,
        resource=PODS,
        v_obj=v_pod,
        p_obj=p_pod,
        extra_labels=translator.translate_namespace_labels(env.namespace_labels),
        extra_annotations=extra,
    )


def _compact_json(value: Any) -> str:
    return json.dumps(thaw({"v": value})["v"], separators=(",", ":"), sort_keys=True)


def pod_hostname(name: str) -> str:
    """A valid DNS-1123 label from a pod name, as the kubelet would derive it."""
    return name[:63].replace(".", "-").rstrip("-") or "pod"


def _containers(spec: Json) -> list[Json]:
    return [c for f in ("initContainers", "containers") for c in items(spec.get(f))]


# -- DNS and the API server -------------------------------------------------------------


def _translate_dns(spec: Json, *, namespace: str, env: PodEnvironment) -> None:
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_network = bool(spec.get("hostNetwork"))
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network):
        domain = env.cluster_domain
        user = mapping(spec.get("dnsConfig"))
        nameservers = [env.nameserver]
        nameservers += [n for n in items(user.get("nameservers")) if n != env.nameserver]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        searches += [s for s in items(user.get("searches")) if s not in searches]
        user_options = [dict(o) for o in items(user.get("options"))]
        options = (
            []
            if any(o.get("name") == "ndots" for o in user_options)
            else [{"name": "ndots", "value": "5"}]
        )
        spec["dnsPolicy"] = "None"
        spec["dnsConfig"] = {
            "nameservers": nameservers,
            "searches": searches,
            "options": options + user_options,
        }
    if env.api_host and not host_network:
        domain = env.cluster_domain
        names = [*_KUBERNETES_NAMES, f"kubernetes.default.svc.{domain}"]
        aliases = items(spec.get("hostAliases"))
        spec["hostAliases"] = [{"ip": env.api_host, "hostnames": names}, *aliases]


def kubernetes_env(host: str, port: int) -> list[Json]:
    """The service environment variables of the ``kubernetes`` service."""
    url = f"tcp://{host}:{port}"
    prefix = f"KUBERNETES_PORT_{port}_TCP"
    pairs = [
        ("KUBERNETES_SERVICE_HOST", host),
        ("KUBERNETES_SERVICE_PORT", str(port)),
        ("KUBERNETES_SERVICE_PORT_HTTPS", str(port)),
        ("KUBERNETES_PORT", url),
        (prefix, url),
        (f"{prefix}_PROTO", "tcp"),
        (f"{prefix}_PORT", str(port)),
        (f"{prefix}_ADDR", host),
    ]
    return [{"name": name, "value": value} for name, value in pairs]


# -- references ---------------------------------------------------------------------------


def _translate_sites(spec: Json, *, namespace: str, translator: Translator) -> list[str]:
    """Rename every reference, rewrite every field path (one walk); the paths read.

    Raises :class:`~syncer.api.Refused` at the first refused site.
    """
    field_paths: list[str] = []
    for site in spec_sites(spec):
        if site.kind == REFUSED:
            raise Refused(reason=site.reason, message=f"{site.path}: {site.problem}")
        if site.kind == FIELD_REF:
            field_paths.append(site.value)
            try:
                site.holder["fieldPath"] = host_field_path(site.value, translator=translator)
            except UnsupportedField as exc:
                raise Refused(reason="downward_api", message=f"{site.path}: {exc}") from exc
        elif is_synced(site.kind, site.value):
            site.holder[site.field] = translator.host_name(namespace, site.value)
    return field_paths


def _translate_token_projections(spec: Json, *, env: PodEnvironment) -> None:
    """Projected service-account tokens (and the virtual CA next to them) from the token Secret."""
    for volume in items(spec.get("volumes")):
        projected = volume.get("projected")
        if isinstance(projected, dict):
            projected["sources"] = _token_sources(items(projected.get("sources")), env=env)


def _token_sources(sources: list[Json], *, env: PodEnvironment) -> list[Json]:
    token = any("serviceAccountToken" in s for s in sources)
    translated: list[Json] = []
    for source in sources:
        if "serviceAccountToken" in source:
            if env.token_secret is None:
                continue
            sat = mapping(source["serviceAccountToken"])
            key = token_key(sat.get("audience") or None)
            item = {"key": key, "path": sat.get("path") or "token"}
            translated.append({"secret": {"name": env.token_secret, "items": [item]}})
            continue
        cm = mapping(source.get("configMap"))
        if token and env.token_secret and cm.get("name") == ROOT_CA_CONFIGMAP:
            # The virtual CA, next to the virtual token: from the token Secret.
            wanted = items(cm.get("items")) or [{"key": CA_KEY, "path": CA_KEY}]
            ca_items = [dict(i) for i in wanted if i.get("key") == CA_KEY]
            translated.append({"secret": {"name": env.token_secret, "items": ca_items}})
            continue
        translated.append(source)
    return translated


def _add_kubernetes_env(spec: Json, *, env: PodEnvironment) -> None:
    if not env.api_host:
        return
    for container in _containers(spec):
        own = {var.get("name") for var in items(container.get("env"))}
        service_env = [
            v for v in kubernetes_env(env.api_host, env.api_port) if v["name"] not in own
        ]
        container["env"] = service_env + items(container.get("env"))


# -- updates of a running pod -----------------------------------------------------------------


def host_pod_update(p_pod: Obj, desired: Mapping[str, Any]) -> Json | None:
    """:func:`updated_host_pod`, or ``None`` when it would change nothing.

    Decides without copying ``p_pod``: the common case (nothing to change)
    costs a few comparisons.  Only ``desired``'s labels, annotations and the
    spec fields :func:`updated_host_pod` reads are used, and those spec fields
    are not translated, so the *virtual* pod's spec may stand in for a
    translated one.
    """
    return updated_host_pod(p_pod, desired) if _host_pod_differs(p_pod, desired) else None


def _host_pod_differs(p_pod: Obj, desired: Mapping[str, Any]) -> bool:
    p_meta = mapping(p_pod.get("metadata"))
    want_meta = mapping(desired.get("metadata"))
    if mapping(p_meta.get("labels")) != mapping(want_meta.get("labels")):
        return True
    if mapping(p_meta.get("annotations")) != mapping(want_meta.get("annotations")):
        return True
    spec = mapping(p_pod.get("spec"))
    want = mapping(desired.get("spec"))
    for field_name in ("initContainers", "containers"):
        images = {c.get("name"): c.get("image") for c in items(want.get(field_name))}
        for container in items(spec.get(field_name)):
            image = images.get(container.get("name"))
            if image and container.get("image") != image:
                return True
    deadline = want.get("activeDeadlineSeconds")
    if deadline is not None and spec.get("activeDeadlineSeconds") != deadline:
        return True
    tolerations = items(spec.get("tolerations"))
    if any(t not in tolerations for t in items(want.get("tolerations"))):
        return True
    wanted_gates = items(want.get("schedulingGates"))
    return any(g not in wanted_gates for g in items(spec.get("schedulingGates")))


def updated_host_pod(p_pod: Obj, desired: Mapping[str, Any]) -> Json:
    """``p_pod`` with the changes Kubernetes allows on a pod taken from ``desired``.

    Labels and annotations; container and init-container images (matched by
    name); ``activeDeadlineSeconds`` when set; tolerations that ``desired`` adds;
    scheduling gates that ``desired`` no longer has are removed.
    """
    body = with_metadata(p_pod, desired["metadata"])
    spec = body.setdefault("spec", {})
    want = mapping(desired.get("spec"))
    for field_name in ("initContainers", "containers"):
        images = {c.get("name"): c.get("image") for c in items(want.get(field_name))}
        for container in items(spec.get(field_name)):
            image = images.get(container.get("name"))
            if image:
                container["image"] = image
    if want.get("activeDeadlineSeconds") is not None:
        spec["activeDeadlineSeconds"] = want["activeDeadlineSeconds"]
    tolerations = list(items(spec.get("tolerations")))
    added = [t for t in items(want.get("tolerations")) if t not in tolerations]
    if added:
        spec["tolerations"] = tolerations + added
    if items(spec.get("schedulingGates")):
        wanted_gates = items(want.get("schedulingGates"))
        spec["schedulingGates"] = [g for g in spec["schedulingGates"] if g in wanted_gates]
    return body
