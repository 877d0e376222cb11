"""Pod translation of references: volumes, env sources, pull secrets, the service account."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mappers.podspec import (
    PodEnvironment,
    translate_pod,
)
from mappers.tokens import token_key
from syncer.api import OBJECT_NAME_ANNOTATION
from tests.mappers.fakes import T
from tests.mappers.podspec_support import ENV, Json, assert_row, container, h, v_pod

CASES: list[tuple[str, Json, PodEnvironment, Callable[[Json], object], object]] = [
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
]


@pytest.mark.parametrize(
    ("rule", "pod", "env", "read", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_spec_translation(
    rule: str, pod: Json, env: PodEnvironment, read: Callable[[Json], object], expected: object
) -> None:
    """Each pod rule, one row."""
    assert_row(rule, pod, env, read, expected)


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
