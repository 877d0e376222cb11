"""The pods reconcile at the tenant boundary: pod security, references, nodeName, tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mappers.podguard import PodSecurity
from mappers.pods import PodMapper, make
from mappers.podtokens import mounted_token_secret_name, new_token_secret_name
from mappers.tokens import (
    legacy_token_secret_host_name,
    token_secret_host_name,
    token_secret_name,
)
from syncer.api import DONE, SECRETS, MapperConfig, Obj, Refused, Result
from syncer.plugins import accepts_config
from tests.mappers.fakes import Fake, T, host_copy, pod_calls, pod_created
from tests.mappers.test_pods import P_NAME, p_pod, v_pod

Json = dict[str, Any]


# -- the tenant boundary (mappers.podguard) ---------------------------------------------------


@dataclass(frozen=True)
class Violation:
    control: str
    field: str
    message: str


def refusing(*fields: str) -> PodSecurity:
    """A Pod Security setting whose checker reports ``fields`` of every pod."""

    def check(pod: Obj, *, level: str, allow: tuple[str, ...]) -> list[Violation]:
        return [Violation("c", f, f"{f}: not allowed ({level})") for f in fields]

    return PodSecurity(check=check)


def by_tolerations(pod: Obj, *, level: str, allow: tuple[str, ...]) -> list[Violation]:
    """A checker that refuses pods tolerating every taint."""
    tolerations = pod.get("spec", {}).get("tolerations") or []
    return [
        Violation("tolerations", f"spec.tolerations[{i}]", f"spec.tolerations[{i}]: any taint")
        for i, t in enumerate(tolerations)
        if t.get("operator") == "Exists" and not t.get("key")
    ]


async def test_a_pod_below_the_security_level_is_refused_and_nothing_is_written() -> None:
    """Violations → Refused(pod_security) naming the first; no host write at all."""
    fake = Fake(virtual={"pods": [v_pod(hostNetwork=True)]}, host={"pods": [], "secrets": []})
    mapper = PodMapper(translator=T, security=refusing("spec.hostNetwork", "spec.hostPID"))
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, v_pod(hostNetwork=True))
    assert caught.value.reason == "pod_security"
    assert caught.value.message == "spec.hostNetwork: not allowed (baseline) (and 1 more)"
    assert caught.value.retry_after is None
    assert fake.calls == []


async def test_an_update_adding_a_violation_is_not_applied() -> None:
    """A running pod gains a catch-all toleration: refused, the host pod stays as it was."""
    running = v_pod(node="n1", phase="Running", tolerations=[{"operator": "Exists"}])
    p = p_pod(v_pod(), node="n1", phase="Running")
    p["status"] = {**running["status"]}
    fake = Fake(virtual={"pods": [running]}, host={"pods": [p], "secrets": []})
    mapper = PodMapper(translator=T, security=PodSecurity(check=by_tolerations))
    with pytest.raises(Refused) as caught:
        await mapper.sync(fake.ctx, running, p)
    assert caught.value.reason == "pod_security"
    assert caught.value.message.startswith("spec.tolerations[0]: any taint")
    assert [c for c in fake.calls if c[0] == "host"] == []
    # Without the violation the same kind of change (a deadline) flows down.
    allowed = v_pod(node="n1", phase="Running", activeDeadlineSeconds=30)
    await mapper.sync(fake.ctx, allowed, p)
    assert ("host", "update", P_NAME) in fake.calls


async def test_a_colliding_reference_refuses_the_pod_before_any_write() -> None:
    """Pod in c mounts a-x-b while b-x-c's secret a holds that host name: refused."""
    v = v_pod(volumes=[{"name": "s", "secret": {"secretName": "a-x-b"}}])
    v["metadata"]["namespace"] = "c"
    taken = host_copy(SECRETS, namespace="b-x-c", name="a")
    fake = Fake(virtual={"pods": [v]}, host={"pods": [], "secrets": [taken]})
    with pytest.raises(Refused) as caught:
        await PodMapper(translator=T).sync_to_host(fake.ctx, v)
    assert (caught.value.reason, caught.value.retry_after) == ("reference_collision", 60)
    assert fake.calls == []


async def test_an_ambiguous_reference_waits_for_its_own_copy() -> None:
    """No host copy of a-x-b yet: wait (growing, one event); once our copy exists, sync."""
    v = v_pod(volumes=[{"name": "s", "secret": {"secretName": "a-x-b"}}])
    v["metadata"]["namespace"] = "c"
    fake = Fake(virtual={"pods": [v]}, host={"pods": [], "secrets": []})
    mapper = PodMapper(translator=T)
    assert await mapper.sync_to_host(fake.ctx, v) == Result(requeue_after=1.0)
    assert await mapper.sync_to_host(fake.ctx, v) == Result(requeue_after=2.0)
    assert fake.events == [("Warning", "WaitingForReferences")]
    assert [c for c in fake.calls if c[1] != "get"] == []
    fake.host_caches["secrets"].put(host_copy(SECRETS, namespace="c", name="a-x-b"))
    assert await mapper.sync_to_host(fake.ctx, v) == DONE
    assert fake.calls[-1] == ("host", "create", T.host_name("c", "web"))
    assert len(mapper.waits) == 0


async def test_a_tenant_set_node_name_is_kept_or_refused() -> None:
    """nodeName of an existing host node → host pod on it; of a missing node → refused."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kwok-node-0"}}
    fake = Fake(host={"pods": [], "secrets": [], "nodes": [node]})
    mapper = PodMapper(translator=T)
    await mapper.sync_to_host(fake.ctx, v_pod(node="kwok-node-0"))
    assert pod_created(fake)[0]["spec"]["nodeName"] == "kwok-node-0"
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, v_pod(node="ghost"))
    assert caught.value.reason == "node_name"
    assert len(pod_created(fake)) == 1


async def test_a_tenant_secret_under_the_token_name_is_never_overwritten() -> None:
    """A copy of the tenant's own secret '<pod>-sa-token' is not the token Secret: no update."""
    volume = {
        "name": "kube-api-access-1",
        "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
    }
    pod = v_pod(volumes=[volume])
    tenant_copy = host_copy(SECRETS, namespace="shop", name=token_secret_name("web"))
    fake = Fake(virtual={"pods": [pod]}, host={"pods": [], "secrets": [tenant_copy]})
    await PodMapper(translator=T).sync_to_host(fake.ctx, pod)
    assert not [c for c in fake.calls if c[1] == "update"]


def test_the_factory_takes_the_mapper_config() -> None:
    """``make`` accepts ``config`` (so the daemon passes the Pod Security settings)."""
    assert accepts_config(make)
    assert isinstance(make(translator=T, config=MapperConfig()), PodMapper)


def privileged_container(**security: Any) -> list[Json]:
    return [{"name": "main", "image": "app:1", "securityContext": security}]


HOSTILE: list[tuple[str, Json, str]] = [
    ("hostNetwork", {"hostNetwork": True}, "spec.hostNetwork"),
    ("hostPID", {"hostPID": True}, "spec.hostPID"),
    ("hostIPC", {"hostIPC": True}, "spec.hostIPC"),
    (
        "privileged",
        {"containers": privileged_container(privileged=True)},
        "spec.containers[0].securityContext.privileged",
    ),
    (
        "SYS_ADMIN",
        {"containers": privileged_container(capabilities={"add": ["SYS_ADMIN"]})},
        "spec.containers[0].securityContext.capabilities.add[0]",
    ),
    (
        "hostPath /",
        {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
        "spec.volumes[0].hostPath",
    ),
    ("tolerate everything", {"tolerations": [{"operator": "Exists"}]}, "spec.tolerations[0]"),
]


@pytest.mark.parametrize(("case", "spec", "field"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_the_default_baseline_refuses_hostile_pods(case: str, spec: Json, field: str) -> None:
    """With the real checker at the default level: refused, the field named, nothing written."""
    fake = Fake(host={"pods": [], "secrets": []})
    with pytest.raises(Refused) as caught:
        await make(translator=T).sync_to_host(fake.ctx, v_pod(**spec))
    assert caught.value.reason == "pod_security", case
    assert caught.value.message.startswith(field), caught.value.message
    assert fake.calls == []


async def test_the_default_baseline_lets_ordinary_pods_through() -> None:
    """An ordinary pod (and one with a harmless capability and toleration) syncs unchanged."""
    fake = Fake(host={"pods": [], "secrets": []})
    ordinary = v_pod(
        containers=privileged_container(capabilities={"add": ["NET_BIND_SERVICE"]}),
        tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
    )
    await make(translator=T).sync_to_host(fake.ctx, ordinary)
    assert pod_calls(fake) == [("host", "create", P_NAME)]
    # The level comes from the config: at "privileged" even host networking passes.
    lenient = make(translator=T, config=MapperConfig(pod_security_level="privileged"))
    await lenient.sync_to_host(fake.ctx, v_pod(hostNetwork=True))
    assert pod_calls(fake) == [("host", "create", P_NAME)] * 2


def test_the_token_secret_renewed_is_the_one_the_host_pod_mounts() -> None:
    """A host pod made under the legacy scheme keeps its name; a new pod gets the new one."""
    legacy = legacy_token_secret_host_name(T, v_pod())
    old_pod = p_pod(v_pod())
    source = {"secret": {"name": legacy, "items": [{"key": "token", "path": "token"}]}}
    old_pod["spec"]["volumes"] = [{"name": "kube-api-access", "projected": {"sources": [source]}}]
    assert mounted_token_secret_name(T, v_pod(), old_pod) == legacy
    current = token_secret_host_name(T, v_pod())
    new_pod = p_pod(v_pod())
    source = {"secret": {"name": current, "items": [{"key": "token", "path": "token"}]}}
    new_pod["spec"]["volumes"] = [{"name": "kube-api-access", "projected": {"sources": [source]}}]
    assert mounted_token_secret_name(T, v_pod(), new_pod) == current
    assert mounted_token_secret_name(T, v_pod(), p_pod(v_pod())) == new_token_secret_name(
        T, v_pod()
    )


async def test_a_legacy_token_secret_is_renewed_under_its_own_name() -> None:
    """Renewal of a pre-change pod writes the legacy Secret, never a new one it cannot mount."""
    volume = {
        "name": "kube-api-access-1",
        "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
    }
    v = v_pod(node="n1", phase="Running", volumes=[volume])
    legacy = legacy_token_secret_host_name(T, v)
    p = p_pod(v, node="n1", phase="Running")
    p["status"] = dict(v["status"])
    p["spec"]["volumes"] = [
        {
            "name": "kube-api-access-1",
            "projected": {"sources": [{"secret": {"name": legacy, "items": [{"key": "token"}]}}]},
        }
    ]
    fake = Fake(virtual={"pods": [v]}, host={"pods": [p], "secrets": []})
    await PodMapper(translator=T).sync(fake.ctx, v, p)
    assert ("host", "create", legacy) in fake.calls
    assert not [c for c in fake.calls if c[1] == "create" and c[2] != legacy]
