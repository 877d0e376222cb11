"""The pods reconcile as a table: which side exists and in what state → which writes happen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mappers.podguard import PodSecurity
from mappers.pods import PodMapper, has_started, make, virtual_status
from mappers.podspec import PodEnvironment, translate_pod
from mappers.references import CONFIGMAP_INDEX, NODE_INDEX, SECRET_INDEX
from mappers.tokens import token_secret_name
from syncer.api import (
    DONE,
    PODS,
    SECRETS,
    AlreadyExists,
    Invalid,
    MapperConfig,
    Obj,
    ObjectKey,
    Refused,
    Result,
    TerminalError,
)
from syncer.plugins import accepts_config
from tests.mappers.fakes import Fake, T, host_copy

Json = dict[str, Any]
KEY = ObjectKey("pods", "shop", "web")


def v_pod(
    *, phase: str = "Pending", terminating: int | None = None, node: str | None = None, **spec: Any
) -> Json:
    pod: Json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid", "resourceVersion": "7"},
        "spec": {"containers": [{"name": "main", "image": "app:1"}], **spec},
        "status": {"phase": phase, "qosClass": "Burstable"},
    }
    if phase != "Pending":
        pod["status"]["startTime"] = "2024-01-01T00:00:00Z"
    if terminating is not None:
        pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        pod["metadata"]["deletionGracePeriodSeconds"] = terminating
    if node:
        pod["spec"]["nodeName"] = node
    return pod


def p_pod(
    v: Json,
    *,
    phase: str = "Pending",
    node: str | None = None,
    terminating: int | None = None,
    uid_of_virtual: str | None = None,
) -> Json:
    pod = translate_pod(v, translator=T, env=PodEnvironment())
    pod["metadata"].update({"uid": "p-uid", "resourceVersion": "3"})
    if uid_of_virtual is not None:
        pod["metadata"]["annotations"]["vcluster.loft.sh/object-uid"] = uid_of_virtual
    if node:
        pod["spec"]["nodeName"] = node
    if terminating is not None:
        pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        pod["metadata"]["deletionGracePeriodSeconds"] = terminating
    pod["status"] = {"phase": phase, "qosClass": "BestEffort", "podIP": "10.244.0.5"}
    return pod


P_NAME = T.host_name("shop", "web")
CASES: list[tuple[str, Json | None, Json | None, list[tuple[str, str, str]]]] = [
    ("new virtual pod → host pod created", v_pod(), None, [("host", "create", P_NAME)]),
    (
        "host pod gone after start → virtual pod deleted",
        v_pod(phase="Running", node="n1"),
        None,
        [("virtual", "delete(grace=0)", "web")],
    ),
    (
        "host pod gone, virtual terminating → virtual pod finished",
        v_pod(terminating=30, node="n1"),
        None,
        [("virtual", "delete(grace=0)", "web")],
    ),
    (
        "host pod of an older virtual pod → deleted",
        v_pod(),
        p_pod(v_pod(), uid_of_virtual="old-uid"),
        [("host", "delete(grace=None)", P_NAME)],
    ),
    (
        "virtual terminating → host deleted with the same grace period",
        v_pod(terminating=12, node="n1", phase="Running"),
        p_pod(v_pod(), node="n1", phase="Running"),
        [("host", "delete(grace=12)", P_NAME)],
    ),
    (
        "both terminating → wait for the host",
        v_pod(terminating=12, node="n1", phase="Running"),
        p_pod(v_pod(), node="n1", phase="Running", terminating=12),
        [],
    ),
    (
        "host terminating after start → virtual deleted",
        v_pod(node="n1", phase="Running"),
        p_pod(v_pod(), node="n1", phase="Running", terminating=5),
        [("virtual", "delete(grace=5)", "web")],
    ),
    (
        "host terminating before start → wait to recreate",
        v_pod(),
        p_pod(v_pod(), terminating=5),
        [],
    ),
    (
        "host scheduled, virtual unbound → binding",
        v_pod(),
        p_pod(v_pod(), node="n1"),
        [("virtual", "binding", "web")],
    ),
    (
        "status flows up",
        v_pod(node="n1"),
        p_pod(v_pod(), node="n1", phase="Running"),
        [("virtual", "update_status", "web")],
    ),
    (
        "an allowed change flows down",
        v_pod(node="n1", phase="Running", activeDeadlineSeconds=60),
        p_pod(v_pod(), node="n1", phase="Running"),
        [("virtual", "update_status", "web"), ("host", "update", P_NAME)],
    ),
    (
        "orphan host pod → deleted",
        None,
        p_pod(v_pod(), node="n1", phase="Running"),
        [("host", "delete(grace=None)", P_NAME)],
    ),
    (
        "orphan already terminating → left alone",
        None,
        p_pod(v_pod(), terminating=3),
        [],
    ),
]


@pytest.mark.parametrize(("case", "v", "p", "writes"), CASES, ids=[c[0] for c in CASES])
async def test_reconcile_table(
    case: str, v: Json | None, p: Json | None, writes: list[tuple[str, str, str]]
) -> None:
    """Before (caches) → after (writes)."""
    fake = Fake(virtual={"pods": [v] if v else []}, host={"pods": [p] if p else [], "secrets": []})
    mapper = PodMapper(translator=T)
    if v is not None and p is not None:
        await mapper.sync(fake.ctx, v, p)
    elif v is not None:
        await mapper.sync_to_host(fake.ctx, v)
    else:
        assert p is not None
        await mapper.sync_to_virtual(fake.ctx, KEY, p)
    assert fake.calls == writes, case


async def test_orphan_seen_only_by_a_lagging_cache_is_kept() -> None:
    """Host only in the cache, but the virtual pod exists (live read): nothing is deleted."""
    fake = Fake(host={"pods": [p_pod(v_pod())], "secrets": []})
    fake.live.put(v_pod())
    result = await PodMapper(translator=T).sync_to_virtual(fake.ctx, KEY, p_pod(v_pod()))
    assert result == Result(requeue=True)
    assert fake.calls == []


async def test_a_pod_the_host_rejects_gets_a_warning_and_is_dropped() -> None:
    """422 from the host: Warning event on the virtual pod, TerminalError (no crash loop)."""
    fake = Fake(virtual={"pods": [v_pod()]}, host={"pods": [], "secrets": []})
    fake.recorder.fail[("host", "create")] = Invalid(status=422, message="bad")
    with pytest.raises(TerminalError):
        await PodMapper(translator=T).sync_to_host(fake.ctx, v_pod())
    assert fake.events == [("Warning", "SyncError")]


async def test_token_secret_is_made_for_pods_that_project_a_token() -> None:
    """A projected token: a TokenRequest in virtual, then a host Secret the syncer owns."""
    volume = {
        "name": "kube-api-access-1",
        "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
    }
    pod = v_pod(volumes=[volume], serviceAccountName="builder")
    fake = Fake(virtual={"pods": [pod]}, host={"pods": [], "secrets": []})
    result = await PodMapper(translator=T).sync_to_host(fake.ctx, pod)
    token_name = T.host_name("shop", "web-sa-token")
    assert fake.calls == [
        ("host", "create", P_NAME),
        ("virtual", "token", "builder"),
        ("host", "create", token_name),
    ]
    request = fake.virtual.bodies[0]
    assert request["spec"]["boundObjectRef"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "web",
        "uid": "v-uid",
    }
    secret = fake.host.created[1]
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "p-new"
    assert result.requeue_after is not None
    assert result.requeue_after > 60
    host_pod = fake.host.created[0]
    assert host_pod["spec"]["volumes"][0]["projected"]["sources"][0]["secret"]["name"] == token_name


async def test_an_already_existing_host_pod_we_just_created_is_cache_lag() -> None:
    """Our own create not yet in the cache: 'already exists' means look again, not a conflict."""
    fake = Fake(virtual={"pods": [v_pod()]}, host={"pods": [], "secrets": []})
    mapper = PodMapper(translator=T)
    assert await mapper.sync_to_host(fake.ctx, v_pod()) == DONE
    fake.recorder.fail[("host", "create")] = AlreadyExists(status=409, reason="AlreadyExists")
    result = await mapper.sync_to_host(fake.ctx, v_pod())
    assert result.requeue_after == 1.0
    other = PodMapper(translator=T)  # no memory of a create: the engine must report it
    with pytest.raises(AlreadyExists):
        await other.sync_to_host(fake.ctx, v_pod())


def test_status_keeps_the_virtual_qos_class() -> None:
    """Phase, IPs and conditions come from the host; the QoS class stays the virtual one."""
    status = virtual_status(v_pod(), p_pod(v_pod(), phase="Running"))
    assert status == {"phase": "Running", "qosClass": "Burstable", "podIP": "10.244.0.5"}
    assert has_started(v_pod(phase="Succeeded"))
    assert not has_started(v_pod())


def test_indexes_cover_what_other_mappers_need() -> None:
    """The pods mapper files pods by configmap, secret and node for the other mappers."""
    indexes = PodMapper(translator=T).indexes()
    pod = v_pod(
        node="n1",
        volumes=[{"name": "a", "configMap": {"name": "cfg"}}],
        imagePullSecrets=[{"name": "reg"}],
    )
    assert list(indexes[CONFIGMAP_INDEX](pod)) == ["shop/cfg"]
    assert list(indexes[SECRET_INDEX](pod)) == ["shop/reg"]
    assert list(indexes[NODE_INDEX](pod)) == ["n1"]
    assert PODS.plural == "pods"


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
    assert fake.host.created[0]["spec"]["nodeName"] == "kwok-node-0"
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, v_pod(node="ghost"))
    assert caught.value.reason == "node_name"
    assert len(fake.host.created) == 1


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
    assert fake.calls == [("host", "create", P_NAME)]
    # The level comes from the config: at "privileged" even host networking passes.
    lenient = make(translator=T, config=MapperConfig(pod_security_level="privileged"))
    await lenient.sync_to_host(fake.ctx, v_pod(hostNetwork=True))
    assert fake.calls == [("host", "create", P_NAME)] * 2
