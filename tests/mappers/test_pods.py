"""The pods reconcile as a table: which side exists and in what state → which writes happen."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mappers.pods import PodMapper, has_started, virtual_status
from mappers.podspec import PodEnvironment, translate_pod
from mappers.podtokens import CA_RETRY, TOKEN_TAKEN_RETRY, new_token_secret_name
from mappers.references import CONFIGMAP_INDEX, NODE_INDEX, SECRET_INDEX
from mappers.tokens import CA_KEY
from syncer.api import (
    DONE,
    PODS,
    AlreadyExists,
    ApiError,
    Forbidden,
    Invalid,
    ObjectKey,
    Refused,
    Result,
)
from syncer.kit import HOST_REJECTED_RETRY
from tests.mappers.fakes import Fake, FakeCache, T, pod_calls, pod_created

Json = dict[str, Any]
ROOT_CA: Json = {
    "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"},
    "data": {"ca.crt": "VIRTUAL CA"},
}
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
        "host pod gone after start (live read) → virtual pod deleted",
        v_pod(phase="Running", node="n1"),
        None,
        [("host", "get", P_NAME), ("virtual", "delete(grace=0)", "web")],
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
    assert pod_calls(fake) == writes, case


async def test_orphan_seen_only_by_a_lagging_cache_is_kept() -> None:
    """Host only in the cache, but the virtual pod exists (live read): nothing is deleted."""
    fake = Fake(host={"pods": [p_pod(v_pod())], "secrets": []})
    fake.live.put(v_pod())
    result = await PodMapper(translator=T).sync_to_virtual(fake.ctx, KEY, p_pod(v_pod()))
    assert result == Result(requeue=True)
    assert fake.calls == []


async def test_a_started_pod_missing_only_from_the_host_cache_is_kept() -> None:
    """Host cache lacks the pod but a live read finds it: the tenant's pod is not deleted."""
    running = v_pod(phase="Running", node="n1")
    fake = Fake(virtual={"pods": [running]}, host={"pods": [], "secrets": []})
    fake.host_live.put(p_pod(v_pod(), node="n1", phase="Running"))
    result = await PodMapper(translator=T).sync_to_host(fake.ctx, running)
    assert result == Result(requeue_after=1.0)
    assert fake.calls == [("host", "get", P_NAME)]


@pytest.mark.parametrize(
    "error", [Invalid(status=422, message="bad"), Forbidden(status=403, message="quota")]
)
async def test_a_pod_the_host_rejects_is_refused_and_looked_at_again(error: ApiError) -> None:
    """422/403 from the host: refused with a SyncError event, revisited later (no crash loop)."""
    fake = Fake(virtual={"pods": [v_pod()]}, host={"pods": [], "secrets": []})
    fake.recorder.fail[("host", "create", P_NAME)] = error
    with pytest.raises(Refused) as refused:
        await PodMapper(translator=T).sync_to_host(fake.ctx, v_pod())
    assert refused.value.reason == "host_rejected"
    assert refused.value.event_reason == "SyncError"
    assert refused.value.retry_after == HOST_REJECTED_RETRY
    assert "rejected this Pod" in refused.value.message


async def test_a_token_secret_name_held_by_something_else_is_refused_and_looked_at_again() -> None:
    """AlreadyExists for the token Secret: nothing overwritten, the pod refused for a while."""
    volume = {
        "name": "kube-api-access-1",
        "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
    }
    pod = v_pod(volumes=[volume], serviceAccountName="builder")
    fake = Fake(virtual={"pods": [pod]}, host={"pods": [], "secrets": []})
    token_name = new_token_secret_name(T, pod)
    fake.recorder.fail[("host", "create", token_name)] = AlreadyExists(status=409)
    with pytest.raises(Refused) as refused:
        await PodMapper(translator=T).sync_to_host(fake.ctx, pod)
    assert refused.value.reason == "host_name_taken"
    assert refused.value.retry_after == TOKEN_TAKEN_RETRY
    assert fake.host.updated == []


async def test_token_secret_is_made_for_pods_that_project_a_token() -> None:
    """A projected token: a TokenRequest in virtual, then a host Secret the syncer owns."""
    volume = {
        "name": "kube-api-access-1",
        "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
    }
    pod = v_pod(volumes=[volume], serviceAccountName="builder")
    virtual = {"pods": [pod], "configmaps": [ROOT_CA]}
    fake = Fake(virtual=virtual, host={"pods": []}, enabled=[PODS])  # secrets kind off
    result = await PodMapper(translator=T).sync_to_host(fake.ctx, pod)
    token_name = new_token_secret_name(T, pod)
    assert pod_calls(fake) == [
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
    secret = pod_created(fake)[1]
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "p-new"
    assert base64.b64decode(secret["data"][CA_KEY]).decode() == "VIRTUAL CA"
    assert result.requeue_after is not None
    assert result.requeue_after > 60
    host_pod = pod_created(fake)[0]
    assert host_pod["spec"]["volumes"][0]["projected"]["sources"][0]["secret"]["name"] == token_name


async def test_a_token_secret_made_before_the_virtual_ca_was_cached_gets_it() -> None:
    """No virtual kube-root-ca.crt yet: the Secret is made, looked at again in CA_RETRY
    seconds, and renewed with the CA once it is cached; then it is fresh until due."""
    volume = {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
    pod = v_pod(volumes=[volume])
    fake = Fake(virtual={"pods": [pod]}, host={"pods": []}, enabled=[PODS])
    mapper = PodMapper(translator=T)
    assert (await mapper.sync_to_host(fake.ctx, pod)).requeue_after == CA_RETRY
    p_pod = {**pod_created(fake)[0], "status": {"phase": "Running"}}
    p_pod["metadata"] = {**p_pod["metadata"], "uid": "p-new", "resourceVersion": "1"}
    secret = {**pod_created(fake)[1]}
    secret["metadata"] = {**secret["metadata"], "resourceVersion": "1"}
    fake.host_caches["secrets"].put(secret)
    assert (await mapper.ensure_token(fake.ctx, pod, p_pod)).requeue_after == CA_RETRY
    assert [c[1] for c in pod_calls(fake)] == ["create", "token", "create"]  # fresh, no CA yet
    fake.virtual_caches["configmaps"] = FakeCache([ROOT_CA])
    result = await mapper.ensure_token(fake.ctx, pod, p_pod)
    assert [c[1] for c in pod_calls(fake)][3:] == ["token", "update"]
    assert base64.b64decode(fake.host.updated[0]["data"][CA_KEY]).decode() == "VIRTUAL CA"
    assert result.requeue_after is not None
    assert result.requeue_after > 60


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
