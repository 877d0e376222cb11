"""Pod translation (virtual → host spec): one table row per pod rule, plus properties."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.podspec import (
    DEFAULT_NAMESERVER,
    PodEnvironment,
    host_pod_update,
    kubernetes_env,
    pod_hostname,
    translate_pod,
    updated_host_pod,
)
from mappers.tokens import token_key
from syncer.api import (
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_NAME_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    OWNER_REFERENCES_ANNOTATION,
    PODS,
)
from tests.mappers.fakes import T

Json = dict[str, Any]
ENV = PodEnvironment(nameserver="10.0.0.10", namespace_labels={"team": "blue"})


def v_pod(**spec: Any) -> Json:
    body: Json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "v-uid",
            "labels": {"app": "web", "release": "r1"},
            "annotations": {"note": "hi"},
        },
        "spec": {"containers": [{"name": "main", "image": "app:1"}]},
    }
    body["spec"].update(spec)
    return body


def h(name: str) -> str:
    return T.host_name("shop", name)


def container(spec: Json) -> Json:
    return dict(spec["containers"][0])


CASES: list[tuple[str, Json, PodEnvironment, Callable[[Json], object], object]] = [
    ("a tenant-set nodeName is kept", v_pod(nodeName="n1"), ENV, lambda s: s["nodeName"], "n1"),
    (
        "admission-computed fields are dropped",
        v_pod(priority=5, priorityClassName="hi", preemptionPolicy="Never", overhead={"cpu": "1"}),
        ENV,
        lambda s: sorted(
            set(s) & {"priority", "priorityClassName", "preemptionPolicy", "overhead"}
        ),
        [],
    ),
    (
        "the host service account is not used",
        v_pod(serviceAccountName="builder", serviceAccount="builder"),
        ENV,
        lambda s: (
            "serviceAccountName" in s,
            "serviceAccount" in s,
            s["automountServiceAccountToken"],
            s["enableServiceLinks"],
        ),
        (False, False, False, False),
    ),
    ("hostname is the virtual name", v_pod(), ENV, lambda s: s["hostname"], "web"),
    ("an explicit hostname stays", v_pod(hostname="h1"), ENV, lambda s: s["hostname"], "h1"),
    (
        "ClusterFirst becomes None with the virtual DNS",
        v_pod(),
        ENV,
        lambda s: (s["dnsPolicy"], s["dnsConfig"]),
        (
            "None",
            {
                "nameservers": ["10.0.0.10"],
                "searches": ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
                "options": [{"name": "ndots", "value": "5"}],
            },
        ),
    ),
    (
        "the tenant's dnsConfig follows ours; its ndots wins",
        v_pod(dnsConfig={"searches": ["corp"], "options": [{"name": "ndots", "value": "2"}]}),
        ENV,
        lambda s: (s["dnsConfig"]["searches"][-1], s["dnsConfig"]["options"]),
        ("corp", [{"name": "ndots", "value": "2"}]),
    ),
    (
        "dnsPolicy Default stays",
        v_pod(dnsPolicy="Default"),
        ENV,
        lambda s: (s["dnsPolicy"], "dnsConfig" in s),
        ("Default", False),
    ),
    (
        "ClusterFirst with hostNetwork stays (it means Default)",
        v_pod(hostNetwork=True),
        ENV,
        lambda s: s.get("dnsPolicy"),
        None,
    ),
    (
        "configmap, secret and PVC volumes are renamed",
        v_pod(
            volumes=[
                {"name": "a", "configMap": {"name": "cfg"}},
                {"name": "b", "secret": {"secretName": "sec"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "d", "configMap": {"name": "kube-root-ca.crt"}},
            ]
        ),
        ENV,
        lambda s: [
            s["volumes"][0]["configMap"]["name"],
            s["volumes"][1]["secret"]["secretName"],
            s["volumes"][2]["persistentVolumeClaim"]["claimName"],
            s["volumes"][3]["configMap"]["name"],
        ],
        [h("cfg"), h("sec"), h("data"), "kube-root-ca.crt"],
    ),
    (
        "env and envFrom references are renamed; fieldRefs read the provenance",
        v_pod(
            containers=[
                {
                    "name": "main",
                    "image": "app:1",
                    "env": [
                        {
                            "name": "A",
                            "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}},
                        },
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}},
                        {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    ],
                    "envFrom": [{"configMapRef": {"name": "cfg2"}}, {"secretRef": {"name": "s2"}}],
                }
            ]
        ),
        ENV,
        lambda s: [
            container(s)["env"][0]["valueFrom"]["configMapKeyRef"]["name"],
            container(s)["env"][1]["valueFrom"]["secretKeyRef"]["name"],
            container(s)["env"][2]["valueFrom"]["fieldRef"]["fieldPath"],
            container(s)["envFrom"][0]["configMapRef"]["name"],
            container(s)["envFrom"][1]["secretRef"]["name"],
        ],
        [
            h("cfg"),
            h("sec"),
            f"metadata.annotations['{OBJECT_NAME_ANNOTATION}']",
            h("cfg2"),
            h("s2"),
        ],
    ),
    (
        "image pull secrets are renamed",
        v_pod(imagePullSecrets=[{"name": "registry"}]),
        ENV,
        lambda s: s["imagePullSecrets"],
        [{"name": h("registry")}],
    ),
    (
        "ephemeral containers are not created with the pod",
        v_pod(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]),
        ENV,
        lambda s: "ephemeralContainers" in s,
        False,
    ),
    (
        "the API server's service reaches the pod as env and host aliases",
        v_pod(),
        PodEnvironment(api_host="10.96.0.1", api_port=443),
        lambda s: (container(s)["env"][0], s["hostAliases"][0]["ip"]),
        ({"name": "KUBERNETES_SERVICE_HOST", "value": "10.96.0.1"}, "10.96.0.1"),
    ),
    (
        "the tenant's own KUBERNETES_SERVICE_HOST wins",
        v_pod(
            containers=[
                {
                    "name": "m",
                    "image": "i",
                    "env": [{"name": "KUBERNETES_SERVICE_HOST", "value": "x"}],
                }
            ]
        ),
        PodEnvironment(api_host="10.96.0.1"),
        lambda s: [
            e["value"] for e in container(s)["env"] if e["name"] == "KUBERNETES_SERVICE_HOST"
        ],
        ["x"],
    ),
    (
        "pod affinity selectors are confined to the vcluster and namespace",
        v_pod(
            affinity={
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}
                    ]
                }
            }
        ),
        ENV,
        lambda s: s["affinity"]["podAntiAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ][0]["labelSelector"],
        {"matchLabels": {"app": "web", MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"}},
    ),
    (
        "affinity terms naming namespaces select those virtual namespaces",
        v_pod(
            affinity={
                "podAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 1,
                            "podAffinityTerm": {
                                "labelSelector": {"matchLabels": {"app": "db"}},
                                "namespaces": ["b", "a"],
                                "topologyKey": "zone",
                            },
                        }
                    ]
                }
            }
        ),
        ENV,
        lambda s: s["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][
            0
        ]["podAffinityTerm"],
        {
            "labelSelector": {
                "matchLabels": {"app": "db", MANAGED_BY_LABEL: "vc"},
                "matchExpressions": [
                    {"key": NAMESPACE_LABEL, "operator": "In", "values": ["a", "b"]}
                ],
            },
            "topologyKey": "zone",
        },
    ),
    (
        "a namespaceSelector becomes a selector over the copied namespace labels",
        v_pod(
            affinity={
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "labelSelector": {"matchLabels": {"app": "db"}},
                            "namespaceSelector": {"matchLabels": {"team": "blue"}},
                            "topologyKey": "zone",
                        }
                    ]
                }
            }
        ),
        ENV,
        lambda s: s["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
            "labelSelector"
        ]["matchLabels"],
        {"app": "db", MANAGED_BY_LABEL: "vc", T.namespace_label_key("team"): "blue"},
    ),
    (
        "topology spread selectors are translated",
        v_pod(
            topologySpreadConstraints=[
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"release": "r1"}},
                }
            ]
        ),
        ENV,
        lambda s: s["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
        {T.translate_label_key("release"): "r1", MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"},
    ),
]


@pytest.mark.parametrize(
    ("rule", "pod", "env", "read", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_spec_translation(
    rule: str, pod: Json, env: PodEnvironment, read: Callable[[Json], object], expected: object
) -> None:
    """Each pod rule, one row."""
    host = translate_pod(pod, translator=T, env=env)
    assert read(host["spec"]) == expected, rule


def test_metadata_translation() -> None:
    """Name, labels (colliding renamed, namespace labels copied), provenance, owner references."""
    pod = v_pod()
    pod["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-1", "uid": "r"}]
    host = translate_pod(pod, translator=T, env=ENV)
    meta = host["metadata"]
    assert meta["name"] == h("web")
    assert meta["namespace"] == "host-ns"
    assert "ownerReferences" not in meta
    assert json.loads(meta["annotations"][OWNER_REFERENCES_ANNOTATION]) == [
        {"kind": "ReplicaSet", "name": "web-1", "uid": "r"}
    ]
    assert meta["labels"] == {
        "app": "web",
        T.translate_label_key("release"): "r1",
        T.namespace_label_key("team"): "blue",
        MANAGED_BY_LABEL: "vc",
        NAMESPACE_LABEL: "shop",
    }
    assert meta["annotations"]["note"] == "hi"
    assert meta["annotations"][OBJECT_UID_ANNOTATION] == "v-uid"
    assert T.is_owned(host, kind_string=PODS.kind_string)


def test_service_account_token_projection_reads_the_token_secret() -> None:
    """The kube-api-access volume: token and CA from the token Secret; namespace from provenance."""
    sources = [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {
            "downwardAPI": {
                "items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
            }
        },
        {"serviceAccountToken": {"audience": "vault", "path": "vault-token"}},
    ]
    pod = v_pod(volumes=[{"name": "kube-api-access-x", "projected": {"sources": sources}}])
    env = PodEnvironment(token_secret="tok")
    translated = translate_pod(pod, translator=T, env=env)["spec"]["volumes"][0]["projected"]
    assert translated["sources"] == [
        {"secret": {"name": "tok", "items": [{"key": "token", "path": "token"}]}},
        {"secret": {"name": "tok", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {
            "downwardAPI": {
                "items": [
                    {
                        "path": "namespace",
                        "fieldRef": {
                            "fieldPath": "metadata.annotations['vcluster.loft.sh/object-namespace']"
                        },
                    }
                ]
            }
        },
        {"secret": {"name": "tok", "items": [{"key": token_key("vault"), "path": "vault-token"}]}},
    ]
    # Without a token Secret the token sources are dropped, the rest stays.
    bare = translate_pod(pod, translator=T, env=PodEnvironment())["spec"]["volumes"][0]
    assert [next(iter(s)) for s in bare["projected"]["sources"]] == ["configMap", "downwardAPI"]


def test_translation_does_not_touch_its_input() -> None:
    """The cached virtual pod is read-only: translation works on a copy."""
    pod = v_pod(
        volumes=[{"name": "a", "configMap": {"name": "cfg"}}], imagePullSecrets=[{"name": "r"}]
    )
    before = copy.deepcopy(pod)
    translate_pod(pod, translator=T, env=PodEnvironment(api_host="10.0.0.1"))
    assert pod == before


def test_defaults_and_helpers() -> None:
    """Placeholder nameserver; hostname from dotted/long names; the service env shape."""
    spec = translate_pod(v_pod(), translator=T, env=PodEnvironment())["spec"]
    assert spec["dnsConfig"]["nameservers"] == [DEFAULT_NAMESERVER]
    assert pod_hostname("a.b.c") == "a-b-c"
    assert pod_hostname("x" * 62 + "-y") == "x" * 62
    names = [e["name"] for e in kubernetes_env("10.0.0.1", 6443)]
    assert "KUBERNETES_PORT_6443_TCP_ADDR" in names


def test_running_pod_updates_only_what_kubernetes_allows() -> None:
    """Images, deadline, added tolerations, removed gates, metadata — nothing else."""
    old = translate_pod(
        v_pod(schedulingGates=[{"name": "g1"}, {"name": "g2"}]), translator=T, env=ENV
    )
    old["spec"]["nodeName"] = "node-1"
    old["metadata"]["labels"]["added-by-host"] = "yes"
    changed = v_pod(
        containers=[{"name": "main", "image": "app:2", "args": ["--new"]}],
        activeDeadlineSeconds=30,
        tolerations=[{"key": "k", "operator": "Exists"}],
        schedulingGates=[{"name": "g2"}],
    )
    changed["metadata"]["labels"]["app"] = "web2"
    desired = translate_pod(changed, translator=T, env=ENV, p_pod=old)
    new = updated_host_pod(old, desired)
    assert new["spec"]["containers"] == [{"name": "main", "image": "app:2"}]
    assert new["spec"]["activeDeadlineSeconds"] == 30
    assert new["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert new["spec"]["schedulingGates"] == [{"name": "g2"}]
    assert new["spec"]["nodeName"] == "node-1"
    assert new["metadata"]["labels"]["app"] == "web2"
    assert new["metadata"]["labels"]["added-by-host"] == "yes"


names = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,80}[a-z0-9])?", fullmatch=True)


@given(name=names, namespace=st.from_regex(r"[a-z]([a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True))
def test_every_translated_pod_is_ours_and_short(name: str, namespace: str) -> None:
    """Any pod name/namespace: the host pod's name fits 63 characters and it passes is_owned."""
    pod = v_pod()
    pod["metadata"].update({"name": name, "namespace": namespace})
    host = translate_pod(pod, translator=T, env=ENV)
    assert len(host["metadata"]["name"]) <= 63
    assert T.is_owned(host, kind_string=PODS.kind_string)
    assert T.virtual_key_from_host(host) == (namespace, name)
    assert len(host["spec"]["hostname"]) <= 63


def _host_variants() -> list[tuple[str, Callable[[Json], None]]]:
    def image(p: Json) -> None:
        p["spec"]["containers"][0]["image"] = "app:0"

    def deadline(p: Json) -> None:
        p["spec"]["activeDeadlineSeconds"] = 5

    def toleration(p: Json) -> None:
        p["spec"]["tolerations"] = []

    def gate(p: Json) -> None:
        p["spec"]["schedulingGates"] = [{"name": "g1"}, {"name": "g2"}]

    def label(p: Json) -> None:
        p["metadata"]["labels"]["app"] = "other"

    def annotation(p: Json) -> None:
        p["metadata"]["annotations"]["note"] = "changed"

    def host_only(p: Json) -> None:  # what the host decides is not ours to change
        p["spec"]["nodeName"] = "node-9"
        p["status"] = {"phase": "Running"}

    return [
        ("image", image),
        ("deadline", deadline),
        ("toleration", toleration),
        ("gate", gate),
        ("label", label),
        ("annotation", annotation),
        ("host-only", host_only),
    ]


@pytest.mark.parametrize(("name", "change"), _host_variants())
def test_host_pod_update_is_none_exactly_when_nothing_would_change(
    name: str, change: Callable[[Json], None]
) -> None:
    """The copy-free check agrees with the full update, with the virtual spec standing in."""
    virtual = v_pod(
        activeDeadlineSeconds=30,
        tolerations=[{"key": "k", "operator": "Exists"}],
        schedulingGates=[{"name": "g2"}],
    )
    host = translate_pod(virtual, translator=T, env=ENV)
    desired = {"metadata": host["metadata"], "spec": virtual["spec"]}
    assert host_pod_update(host, desired) is None
    changed = copy.deepcopy(host)
    change(changed)
    full = updated_host_pod(changed, desired)
    update = host_pod_update(changed, desired)
    if name == "host-only":
        assert update is None
        assert full == changed
    else:
        assert update is not None
        assert update == full != changed
