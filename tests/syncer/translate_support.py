"""Shared by the syncer.translate tests: validation regexes, name strategies, host objects."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from hypothesis import strategies as st

from syncer.translate import Translator

# Written from the Kubernetes validation rules, independently of the module under test.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
QUALIFIED_NAME_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")

POD = "/v1, Kind=Pod"
TRANSLATOR = Translator(vcluster="dev", host_namespace="vcluster-dev")


def sha10(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# -- strategies: small alphabets make the edge cases ("-x-", "." at the cut) likely --

_ALNUM = "abx019"
_INNER = _ALNUM + "-"


@st.composite
def dns_labels(draw: st.DrawFn, *, min_size: int = 1, max_size: int = 63) -> str:
    size = draw(st.integers(min_size, max_size))
    if size == 1:
        return draw(st.sampled_from(_ALNUM))
    first, last = draw(st.sampled_from(_ALNUM)), draw(st.sampled_from(_ALNUM))
    return first + draw(st.text(_INNER, min_size=size - 2, max_size=size - 2)) + last


@st.composite
def dns_subdomains(draw: st.DrawFn) -> str:
    labels = draw(st.lists(dns_labels(), min_size=1, max_size=8))
    name = labels[0]
    for label in labels[1:]:
        if len(name) + 1 + len(label) > 253:
            break
        name += "." + label
    return name


@st.composite
def dns1035_labels(draw: st.DrawFn) -> str:
    return draw(st.sampled_from("abx")) + draw(dns_labels(max_size=62))


@st.composite
def dotted_at_cut(draw: st.DrawFn) -> str:
    """Names whose 52nd character is a dot and that are long enough to be cut there."""
    return draw(dns_labels(min_size=51, max_size=51)) + "." + draw(dns_labels(min_size=12))


def host_object(
    translator: Translator, namespace: str, name: str, *, kind_string: str = POD
) -> dict[str, Any]:
    """A host object exactly as the syncer would create it."""
    if namespace:
        p_name, p_namespace = translator.host_name(namespace, name), translator.host_namespace
    else:
        p_name, p_namespace = translator.host_cluster_name(name), ""
    annotations = translator.provenance_annotations(
        kind_string=kind_string, namespace=namespace, name=name, uid="uid-1", host_name=p_name
    )
    metadata: dict[str, Any] = {
        "name": p_name,
        "labels": translator.translate_labels({"app": "web"}, namespace=namespace),
        "annotations": annotations,
    }
    if p_namespace:
        metadata["namespace"] = p_namespace
    return {"metadata": metadata}
