"""Translating a virtual pod into its host pod: pure functions, one rule each.

:func:`translate_pod` applies REFERENCE.md "Pods" (toHost):

* metadata: host name, translated labels plus the virtual namespace's labels
  (``ns-label`` keys), the tenant's annotations, provenance; virtual
  ownerReferences are kept as JSON in ``vcluster.loft.sh/owner-references``;
  the record of what was synced, for the merge of host-side changes
  (:mod:`mappers.metamerge`), in ``vsyncer.dev/synced-metadata``;
* the host scheduler places the pod: ``nodeName`` is dropped, and so are the
  fields host admission computes and would reject from a client (``priority``,
  ``priorityClassName``, ``preemptionPolicy``, ``overhead``) and
  ``ephemeralContainers`` (not allowed on create);
* the host's own service account is never mounted:
  ``automountServiceAccountToken=false``, no ``serviceAccountName``,
  ``enableServiceLinks=false``; instead every ``serviceAccountToken``
  projection (and the virtual CA next to it) reads from the syncer's token
  Secret (:mod:`mappers.tokens`);
* configmap, secret and PVC references are renamed to their host names (the
  ``kube-root-ca.crt`` configmap keeps its name: the host namespace's own);
* downward-API ``metadata.name`` / ``namespace`` / ``uid`` read the provenance
  annotations, so the pod sees its *virtual* identity;
* DNS: ``ClusterFirst`` becomes ``dnsPolicy: None`` with the virtual DNS
  nameserver and ``<ns>.svc.<domain>``, ``svc.<domain>``, ``<domain>``,
  ``ndots:5`` (the tenant's own ``dnsConfig`` entries follow ours);
  ``hostname`` defaults to the virtual pod name;
* ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_PORT*`` and ``hostAliases`` for the
  ``kubernetes`` names point at the virtual API server's service, when known;
* label selectors in pod (anti-)affinity and topology spread constraints are
  translated and confined to this vcluster (and the pod's virtual namespace,
  or the namespaces the term names).

:func:`updated_host_pod` applies the updates Kubernetes allows on a running pod.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mappers.generic import (
    Json,
    host_metadata,
    items,
    mapping,
    name_of,
    namespace_of,
    with_metadata,
)
from mappers.metamerge import SYNCED_METADATA_ANNOTATION, synced_record
from mappers.references import ROOT_CA_CONFIGMAP
from mappers.tokens import CA_KEY, token_key
from syncer.api import (
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    OWNER_REFERENCES_ANNOTATION,
    PODS,
    Obj,
    Translator,
    thaw,
)

#: Used when neither a nameserver is configured nor a virtual ``kube-system/kube-dns``
#: service is known: kubeadm's conventional cluster-DNS address, a placeholder.
DEFAULT_NAMESERVER = "10.96.0.10"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"

_FIELD_PATHS = {
    "metadata.name": f"metadata.annotations['{OBJECT_NAME_ANNOTATION}']",
    "metadata.namespace": f"metadata.annotations['{OBJECT_NAMESPACE_ANNOTATION}']",
    "metadata.uid": f"metadata.annotations['{OBJECT_UID_ANNOTATION}']",
}
_DROPPED_SPEC_FIELDS = (
    "nodeName",
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


def translate_pod(
    v_pod: Obj, *, translator: Translator, env: PodEnvironment, p_pod: Obj | None = None
) -> Json:
    """The host pod for ``v_pod`` (merged with ``p_pod``'s metadata when given)."""
    namespace = namespace_of(v_pod)
    metadata = host_pod_metadata(v_pod, translator=translator, env=env, p_pod=p_pod)
    spec = thaw(mapping(v_pod.get("spec")))
    for key in _DROPPED_SPEC_FIELDS:
        spec.pop(key, None)
    spec["automountServiceAccountToken"] = False
    spec["enableServiceLinks"] = False
    spec.setdefault("hostname", pod_hostname(name_of(v_pod)))
    _translate_dns(spec, namespace=namespace, env=env)
    _translate_volumes(spec, namespace=namespace, translator=translator, env=env)
    for container in _containers(spec):
        _translate_container(container, namespace=namespace, translator=translator, env=env)
    for secret in items(spec.get("imagePullSecrets")):
        if secret.get("name"):
            secret["name"] = translator.host_name(namespace, secret["name"])
    _translate_affinity(spec, namespace=namespace, translator=translator)
    for constraint in items(spec.get("topologySpreadConstraints")):
        _translate_selector_term(constraint, namespace=namespace, translator=translator)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def host_pod_metadata(
    v_pod: Obj, *, translator: Translator, env: PodEnvironment, p_pod: Obj | None = None
) -> Json:
    """Just the ``metadata`` of :func:`translate_pod` (the spec is not translated)."""
    owners = mapping(v_pod.get("metadata")).get("ownerReferences")
    extra = {SYNCED_METADATA_ANNOTATION: synced_record(v_pod)}
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


def _configmap_name(translator: Translator, namespace: str, name: str) -> str:
    return name if name == ROOT_CA_CONFIGMAP else translator.host_name(namespace, name)


def _rename(obj: Any, field_name: str, rename: Any) -> None:
    if isinstance(obj, dict) and isinstance(obj.get(field_name), str) and obj[field_name]:
        obj[field_name] = rename(obj[field_name])


def _rewrite_field_ref(obj: Any) -> None:
    ref = obj.get("fieldRef") if isinstance(obj, dict) else None
    if isinstance(ref, dict) and ref.get("fieldPath") in _FIELD_PATHS:
        ref["fieldPath"] = _FIELD_PATHS[ref["fieldPath"]]


def _translate_volumes(
    spec: Json, *, namespace: str, translator: Translator, env: PodEnvironment
) -> None:
    def host(name: str) -> str:
        return translator.host_name(namespace, name)

    def configmap(name: str) -> str:
        return _configmap_name(translator, namespace, name)

    for volume in items(spec.get("volumes")):
        _rename(volume.get("configMap"), "name", configmap)
        _rename(volume.get("secret"), "secretName", host)
        _rename(volume.get("persistentVolumeClaim"), "claimName", host)
        _rename(mapping(volume.get("csi")).get("nodePublishSecretRef"), "name", host)
        for item in items(mapping(volume.get("downwardAPI")).get("items")):
            _rewrite_field_ref(item)
        projected = volume.get("projected")
        if isinstance(projected, dict):
            projected["sources"] = _translate_sources(
                items(projected.get("sources")), host=host, configmap=configmap, env=env
            )


def _translate_sources(
    sources: list[Json], *, host: Any, configmap: Any, env: PodEnvironment
) -> list[Json]:
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
        cm = source.get("configMap")
        if token and env.token_secret and mapping(cm).get("name") == ROOT_CA_CONFIGMAP:
            # The virtual CA, next to the virtual token: from the token Secret.
            wanted = items(mapping(cm).get("items")) or [{"key": CA_KEY, "path": CA_KEY}]
            ca_items = [dict(i) for i in wanted if i.get("key") == CA_KEY]
            translated.append({"secret": {"name": env.token_secret, "items": ca_items}})
            continue
        _rename(cm, "name", configmap)
        _rename(source.get("secret"), "name", host)
        for item in items(mapping(source.get("downwardAPI")).get("items")):
            _rewrite_field_ref(item)
        translated.append(source)
    return translated


def _translate_container(
    container: Json, *, namespace: str, translator: Translator, env: PodEnvironment
) -> None:
    def host(name: str) -> str:
        return translator.host_name(namespace, name)

    def configmap(name: str) -> str:
        return _configmap_name(translator, namespace, name)

    for var in items(container.get("env")):
        value_from = var.get("valueFrom")
        if isinstance(value_from, dict):
            _rename(value_from.get("configMapKeyRef"), "name", configmap)
            _rename(value_from.get("secretKeyRef"), "name", host)
            _rewrite_field_ref(value_from)
    for source in items(container.get("envFrom")):
        _rename(source.get("configMapRef"), "name", configmap)
        _rename(source.get("secretRef"), "name", host)
    if env.api_host:
        own = {var.get("name") for var in items(container.get("env"))}
        service_env = [
            v for v in kubernetes_env(env.api_host, env.api_port) if v["name"] not in own
        ]
        container["env"] = service_env + items(container.get("env"))


# -- selectors ------------------------------------------------------------------------------


def _translate_affinity(spec: Json, *, namespace: str, translator: Translator) -> None:
    affinity = mapping(spec.get("affinity"))
    for kind in ("podAffinity", "podAntiAffinity"):
        rules = mapping(affinity.get(kind))
        for term in items(rules.get("requiredDuringSchedulingIgnoredDuringExecution")):
            _translate_affinity_term(term, namespace=namespace, translator=translator)
        for weighted in items(rules.get("preferredDuringSchedulingIgnoredDuringExecution")):
            term = mapping(weighted).get("podAffinityTerm")
            if isinstance(term, dict):
                _translate_affinity_term(term, namespace=namespace, translator=translator)


def _translate_selector_term(term: Json, *, namespace: str, translator: Translator) -> None:
    """``labelSelector`` and ``matchLabelKeys``/``mismatchLabelKeys`` of one term."""
    selector = term.get("labelSelector")
    if isinstance(selector, dict):
        term["labelSelector"] = translator.translate_label_selector(selector, namespace=namespace)
    for keys in ("matchLabelKeys", "mismatchLabelKeys"):
        if isinstance(term.get(keys), list):
            term[keys] = [translator.translate_label_key(k) for k in term[keys]]


def _translate_affinity_term(term: Json, *, namespace: str, translator: Translator) -> None:
    """One pod (anti-)affinity term, confined to the namespaces it names, on the host.

    On the host every pod of the vcluster lives in one namespace, so the term's
    namespace scope becomes label terms: ``namespaces`` → the virtual namespace
    label ``In`` those; a ``namespaceSelector`` (when no ``namespaces`` are
    listed) → the same selector over the copied namespace labels; neither → the
    pod's own virtual namespace.  (Kubernetes takes the *union* of both fields;
    a single selector cannot, so with both the list wins.)
    """
    namespaces = [n for n in items(term.pop("namespaces", None)) if isinstance(n, str)]
    namespace_selector = term.pop("namespaceSelector", None)
    _translate_selector_term(term, namespace=namespace, translator=translator)
    selector = term.get("labelSelector")
    if not isinstance(selector, dict) or (not namespaces and namespace_selector is None):
        return
    match_labels = selector["matchLabels"]
    match_labels.pop(NAMESPACE_LABEL, None)
    match_labels[MANAGED_BY_LABEL] = translator.vcluster
    expressions = list(items(selector.get("matchExpressions")))
    if namespaces:
        expressions.append(
            {"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(set(namespaces))}
        )
    elif isinstance(namespace_selector, dict):
        for key, value in mapping(namespace_selector.get("matchLabels")).items():
            match_labels[translator.namespace_label_key(key)] = value
        for expression in items(namespace_selector.get("matchExpressions")):
            copied = dict(expression)
            copied["key"] = translator.namespace_label_key(str(expression.get("key")))
            expressions.append(copied)
    if expressions:
        selector["matchExpressions"] = expressions


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
