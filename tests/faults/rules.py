"""Per-kind field rules: which translated fields of a host copy must equal the virtual ones.

:func:`differences` is pure and returns one line per differing field (empty
when the copy is faithful); :func:`owner_difference` judges the owner
references.  What is compared, and why, is listed in
:mod:`tests.faults.consistency`; every rule here reads both objects as the API
servers return them and translates only through :class:`Translator`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from syncer.translate import Translator

Obj = Mapping[str, Any]

KIND_NAMES = {
    "pods": "Pod",
    "services": "Service",
    "endpoints": "Endpoints",
    "configmaps": "ConfigMap",
    "secrets": "Secret",
    "persistentvolumeclaims": "PersistentVolumeClaim",
}

_SA_TOKEN = "kubernetes.io/service-account-token"


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _metadata(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    v_meta, p_meta = _m(v_obj.get("metadata")), _m(p_obj.get("metadata"))
    namespace = str(v_meta.get("namespace") or "")
    want = translator.translate_labels(v_meta.get("labels"), namespace=namespace)
    have = _m(p_meta.get("labels"))
    for label, value in sorted(want.items()):
        if have.get(label) != value:
            yield f"label {label}: host {have.get(label)!r} != {value!r}"
    p_annotations = _m(p_meta.get("annotations"))
    for name, value in sorted(_m(v_meta.get("annotations")).items()):
        if p_annotations.get(name) != value:
            yield f"annotation {name} differs"


def _pods(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    del translator
    v_spec, p_spec = _m(v_obj.get("spec")), _m(p_obj.get("spec"))
    v_images = {c.get("name"): c.get("image") for c in _l(v_spec.get("containers"))}
    p_images = {c.get("name"): c.get("image") for c in _l(p_spec.get("containers"))}
    if v_images != p_images:
        yield f"container images: host {p_images} != {v_images}"
    if p_spec.get("nodeName") != v_spec.get("nodeName"):
        yield f"nodeName: virtual {v_spec.get('nodeName')!r} != host {p_spec.get('nodeName')!r}"
    v_status, p_status = _m(v_obj.get("status")), _m(p_obj.get("status"))
    for name in ("phase", "podIP"):
        if v_status.get(name) != p_status.get(name):
            yield f"status.{name}: virtual {v_status.get(name)!r} != host {p_status.get(name)!r}"


def _ports(spec: Mapping[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (p.get("name"), p.get("port"), p.get("protocol", "TCP"), str(p.get("targetPort")))
        for p in _l(spec.get("ports"))
    }


def _services(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    v_spec, p_spec = _m(v_obj.get("spec")), _m(p_obj.get("spec"))
    if v_spec.get("clusterIP") != p_spec.get("clusterIP"):
        yield f"clusterIP: virtual {v_spec.get('clusterIP')} != host {p_spec.get('clusterIP')}"
    if _ports(v_spec) != _ports(p_spec):
        yield "ports differ"
    if v_spec.get("type", "ClusterIP") != p_spec.get("type", "ClusterIP"):
        yield "type differs"
    namespace = str(_m(v_obj.get("metadata")).get("namespace"))
    selector = translator.translate_selector(v_spec.get("selector"), namespace=namespace)
    if selector != dict(_m(p_spec.get("selector"))):
        yield "selector differs"


def _endpoints(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    del translator

    def ips(obj: Obj) -> list[list[str]]:
        return [
            sorted(str(a.get("ip")) for a in _l(_m(s).get("addresses")))
            for s in _l(obj.get("subsets"))
        ]

    if ips(v_obj) != ips(p_obj):
        yield f"addresses: host {ips(p_obj)} != {ips(v_obj)}"


def _configmaps(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    del translator
    for name in ("data", "binaryData"):
        if dict(_m(v_obj.get(name))) != dict(_m(p_obj.get(name))):
            yield f"{name} differs"


def _secrets(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    del translator
    if dict(_m(v_obj.get("data"))) != dict(_m(p_obj.get("data"))):
        yield "data differs"
    v_type = str(v_obj.get("type") or "Opaque")
    want = "Opaque" if v_type == _SA_TOKEN else v_type
    if str(p_obj.get("type") or "Opaque") != want:
        yield f"type: host {p_obj.get('type')} != {want}"


def _pvcs(v_obj: Obj, p_obj: Obj, translator: Translator) -> Iterator[str]:
    del translator
    v_spec, p_spec = _m(v_obj.get("spec")), _m(p_obj.get("spec"))
    if _m(v_spec.get("resources")).get("requests") != _m(p_spec.get("resources")).get("requests"):
        yield "resources.requests differ"
    if v_spec.get("accessModes") != p_spec.get("accessModes"):
        yield "accessModes differ"
    v_phase = _m(v_obj.get("status")).get("phase")
    p_phase = _m(p_obj.get("status")).get("phase")
    if v_phase != p_phase:
        yield f"status.phase: virtual {v_phase} != host {p_phase}"


_RULES: dict[str, Callable[[Obj, Obj, Translator], Iterator[str]]] = {
    "pods": _pods,
    "services": _services,
    "endpoints": _endpoints,
    "configmaps": _configmaps,
    "secrets": _secrets,
    "persistentvolumeclaims": _pvcs,
}


def differences(kind: str, v_obj: Obj, p_obj: Obj, *, translator: Translator) -> list[str]:
    """Every field of the host copy ``p_obj`` that does not match ``v_obj`` (see module doc)."""
    found = list(_metadata(v_obj, p_obj, translator))
    found += _RULES[kind](v_obj, p_obj, translator)
    return found


def anchor_uid(services: Sequence[Obj], *, vcluster: str) -> str | None:
    """The uid of the owner anchor (the host Service named ``vcluster``) among ``services``."""
    for service in services:
        meta = _m(service.get("metadata"))
        if meta.get("name") == vcluster:
            return str(meta.get("uid"))
    return None


def owner_difference(v_obj: Obj, p_obj: Obj, *, anchor: str | None) -> str | None:
    """What is wrong with the host copy's owner references (vcluster's global owner rule).

    With an anchor: exactly one reference, to the anchor Service's uid,
    ``controller`` exactly when the virtual object has a controlling owner;
    without one (``VSYNCER_SET_OWNER=false``): none.
    """
    owners = _l(_m(p_obj.get("metadata")).get("ownerReferences"))
    if anchor is None:
        return f"{len(owners)} owner references without an owner anchor" if owners else None
    if len(owners) != 1 or owners[0].get("kind") != "Service" or owners[0].get("uid") != anchor:
        named = [(o.get("kind"), o.get("name"), o.get("uid")) for o in owners]
        return f"owned by {named}, not by the owner anchor ({anchor}) alone"
    v_owners = _l(_m(v_obj.get("metadata")).get("ownerReferences"))
    controlled = any(_m(o).get("controller") for o in v_owners)
    if bool(owners[0].get("controller")) != controlled:
        return f"anchor reference controller={owners[0].get('controller')}, want {controlled}"
    return None
