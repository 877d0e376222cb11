"""The pod tenant boundary: pod security, reference provenance, tenant-set nodeName."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from mappers.podguard import (
    WAIT_CAP,
    PodSecurity,
    Reference,
    ReferenceWaits,
    node_refusal,
    reference_field,
    references,
    unready_references,
)
from mappers.tokens import token_secret
from syncer.api import CONFIGMAPS, NODES, PVCS, SECRETS, Obj, ObjectKey, Refused
from tests.mappers.fakes import Fake, T, foreign, host_copy

Json = dict[str, Any]


@dataclass(frozen=True)
class FakeViolation:
    control: str
    field: str
    message: str


def pod(namespace: str = "c", **spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": namespace, "uid": "v-uid"},
        "spec": {"containers": [{"name": "main", "image": "app:1"}], **spec},
    }


def secret_volume(name: str) -> Json:
    return {"name": "vol", "secret": {"secretName": name}}


def checker(*violations: FakeViolation) -> Any:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def check(pod: Obj, *, level: str, allow: tuple[str, ...]) -> list[FakeViolation]:
        seen.append((level, allow))
        return list(violations)

    check.seen = seen  # type: ignore[attr-defined]
    return check


def test_pod_security_names_the_first_violation_and_counts_the_rest() -> None:
    """Several violations: one Refused naming the first field, 'and N more', no retry."""
    check = checker(
        FakeViolation("hostNamespaces", "spec.hostNetwork", "spec.hostNetwork: host network"),
        FakeViolation("privileged", "spec.containers[0].securityContext.privileged", "priv"),
        FakeViolation("capabilities", "spec.containers[0].securityContext.capabilities", "cap"),
    )
    security = PodSecurity(check=check, level="restricted", allow=("hostNetwork",))
    refusal = security.refusal(pod())
    assert refusal is not None
    assert refusal.reason == "pod_security"
    assert refusal.message == "spec.hostNetwork: host network (and 2 more)"
    assert refusal.retry_after is None
    assert check.seen == [("restricted", ("hostNetwork",))]


def test_pod_security_prefixes_a_bare_message_with_its_field() -> None:
    """A violation whose message lacks the field still names it; a clean pod passes."""
    one = PodSecurity(check=checker(FakeViolation("c", "spec.hostPID", "host PID")))
    refusal = one.refusal(pod())
    assert refusal is not None
    assert refusal.message == "spec.hostPID: host PID"
    assert PodSecurity(check=checker()).refusal(pod()) is None


def test_reference_fields_are_json_paths() -> None:
    """Each reference is found where the pod names it (volume, env, pull secret, claim)."""
    v = pod(
        volumes=[
            {"name": "a", "configMap": {"name": "cfg"}},
            {"name": "b", "projected": {"sources": [{"secret": {"name": "proj"}}]}},
            {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
        ],
        imagePullSecrets=[{"name": "reg"}],
    )
    v["spec"]["containers"][0]["env"] = [
        {"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}
    ]
    assert references(v) == [
        Reference(SECRETS, "creds", "spec.containers[0].env[0].valueFrom.secretKeyRef.name"),
        Reference(SECRETS, "proj", "spec.volumes[1].projected.sources[0].secret.name"),
        Reference(SECRETS, "reg", "spec.imagePullSecrets[0].name"),
        Reference(CONFIGMAPS, "cfg", "spec.volumes[0].configMap.name"),
        Reference(PVCS, "data", "spec.volumes[2].persistentVolumeClaim.claimName"),
    ]
    assert reference_field(v, resource=SECRETS, name="absent") == "spec"


async def test_another_namespaces_copy_under_the_name_refuses_the_pod() -> None:
    """Namespace b-x-c's secret a holds the host name of c's a-x-b: refused, retried later."""
    other = host_copy(SECRETS, namespace="b-x-c", name="a")
    fake = Fake(host={"secrets": [other]})
    with pytest.raises(Refused) as caught:
        await unready_references(fake.ctx, pod(volumes=[secret_volume("a-x-b")]))
    refusal = caught.value
    assert refusal.reason == "reference_collision"
    assert refusal.retry_after == 60
    assert refusal.message == (
        f"spec.volumes[0].secret.secretName: secret 'a-x-b': host secret "
        f"{T.host_name('c', 'a-x-b')} belongs to another virtual object"
    )


@pytest.mark.parametrize(
    ("what", "cached", "live"),
    [
        ("a foreign host object (live read)", [], [foreign(SECRETS, name=T.host_name("c", "s"))]),
        ("a copy of another kind", [host_copy(CONFIGMAPS, namespace="c", name="s")], []),
    ],
)
async def test_anything_but_the_exact_copy_refuses(what: str, cached: Any, live: Any) -> None:
    """Foreign objects and mismatched kinds under the host name are collisions too."""
    fake = Fake(host={"secrets": cached}, host_live=live)
    with pytest.raises(Refused, match="belongs to another virtual object"):
        await unready_references(fake.ctx, pod(volumes=[secret_volume("s")]))


async def test_a_pods_token_secret_is_never_a_tenants_secret() -> None:
    """Referencing the name of pod v's token Secret (another namespace's) is refused."""
    v_other = pod(namespace="b-x-c")
    v_other["metadata"]["name"] = "v"
    token = token_secret(
        translator=T,
        v_pod=v_other,
        p_pod={"metadata": {"name": "p", "uid": "p-uid"}},
        tokens={"token": "t"},
        ca="",
        refresh_at=time.time() + 600,
    )
    fake = Fake(host={"secrets": [token]})
    name = token["metadata"]["annotations"]["vcluster.loft.sh/object-name"]
    assert name == "v-sa-token"
    # From namespace c, "v-sa-token-x-b" translates to the same host name.
    assert T.host_name("c", "v-sa-token-x-b") == token["metadata"]["name"]
    for namespace, ref in (("c", "v-sa-token-x-b"), ("b-x-c", name)):
        with pytest.raises(Refused, match="belongs to another virtual object"):
            await unready_references(
                fake.ctx, pod(namespace=namespace, volumes=[secret_volume(ref)])
            )


async def test_our_own_copy_passes_and_missing_copies_wait_only_when_ambiguous() -> None:
    """Exact copy → fine; absent + unambiguous → go on; absent + ambiguous → wait for it."""
    mine = host_copy(SECRETS, namespace="c", name="a-x-b")
    fake = Fake(host={"secrets": [mine]})
    assert await unready_references(fake.ctx, pod(volumes=[secret_volume("a-x-b")])) == []
    v = pod(
        volumes=[
            secret_volume("plain"),
            {"name": "cm", "configMap": {"name": "cfg-x-y"}},
            {"name": "pvc", "persistentVolumeClaim": {"claimName": "d" * 60}},
        ]
    )
    waiting = await unready_references(fake.ctx, v)
    assert [(r.resource, r.name) for r in waiting] == [(CONFIGMAPS, "cfg-x-y"), (PVCS, "d" * 60)]


def test_waits_grow_and_warn_once_per_pod() -> None:
    """1 s, 2 s, 4 s … capped; only the first wait of a pod (UID) is reported."""
    waits = ReferenceWaits()
    key = ObjectKey("pods", "c", "web")
    delays = [waits.wait(key, uid="u1") for _ in range(8)]
    assert delays[:4] == [(1.0, True), (2.0, False), (4.0, False), (8.0, False)]
    assert delays[-1] == (WAIT_CAP, False)
    assert waits.wait(key, uid="u2") == (1.0, True)  # a new pod of the same name
    waits.forget(key)
    assert len(waits) == 0


def test_a_node_is_refused_only_when_known_missing() -> None:
    """Bound to a missing host node → refused (retry 60 s); present or unknowable → fine."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kwok-node-0"}}
    fake = Fake(host={"nodes": [node]})
    assert node_refusal(fake.ctx, pod(nodeName="kwok-node-0")) is None
    assert node_refusal(fake.ctx, pod()) is None
    refusal = node_refusal(fake.ctx, pod(nodeName="ghost"))
    assert refusal is not None
    assert (refusal.reason, refusal.retry_after) == ("node_name", 60)
    assert refusal.message == "spec.nodeName: node 'ghost' does not exist on the host"
    assert node_refusal(Fake().ctx, pod(nodeName="ghost")) is None  # no nodes mapper
    assert NODES.plural == "nodes"
