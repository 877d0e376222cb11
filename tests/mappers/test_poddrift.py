"""The pods drift check: each difference the pods reconcile acts on, and what it leaves alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest

from mappers.poddrift import first_difference
from mappers.pods import PodMapper, make
from mappers.podspec import PodEnvironment, translate_pod
from mappers.podtokens import new_token_secret_name
from syncer.api import CONFIGMAPS, NAMESPACE_LABEL, OBJECT_UID_ANNOTATION, PODS, ObjectKey, thaw
from syncer.drift import DriftChecker
from syncer.informer import Informer
from syncer.kube import KubeClient
from syncer.sync import KindSync
from tests.mappers.fakes import Fake, T, foreign, host_copy
from tests.syncer.test_drift import Counts, LiveHost, Queue

Json = dict[str, Any]
P_NAME = T.host_name("shop", "web")
TOKEN_VOLUME = {
    "name": "kube-api-access-1",
    "projected": {
        "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "c"}]}},
        ]
    },
}


def v_pod(
    *, phase: str = "Running", node: str | None = "n1", name: str = "web", **spec: Any
) -> Json:
    """Virtual pod ``shop/<name>``, bound to ``node`` once it runs."""
    pod: Json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"v-{name}",
            "resourceVersion": "7",
            "labels": {"app": "web"},
        },
        "spec": {"containers": [{"name": "main", "image": "app:1"}], **spec},
        "status": {"phase": phase, "qosClass": "Burstable"},
    }
    if node:
        pod["spec"]["nodeName"] = node
    if phase != "Pending":
        pod["status"].update(startTime="2024-01-01T00:00:00Z", podIP="10.244.0.5")
    return pod


def p_pod(v: Json) -> Json:
    """The host pod the reconcile leaves for ``v``: translated, placed, status reported."""
    env = PodEnvironment(token_secret=new_token_secret_name(T, v))
    pod = translate_pod(v, translator=T, env=env)
    pod["metadata"].update({"uid": "p-uid", "resourceVersion": "3"})
    pod["spec"]["nodeName"] = v["spec"].get("nodeName")
    pod["status"] = {**thaw(v["status"]), "qosClass": "BestEffort"}
    return pod


def volume(configmap: str) -> Json:
    return {"name": "c", "configMap": {"name": configmap}}


def terminating(pod: Json) -> Json:
    pod = thaw(pod)
    pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return pod


def drift(v: Json, p: Json | None, **caches: Any) -> str | None:
    mapper: PodMapper = make(translator=T)
    return mapper.drift(Fake(**caches).ctx, v, p)


def test_a_host_pod_as_the_reconcile_leaves_it_is_no_drift() -> None:
    v = v_pod()
    assert drift(v, p_pod(v)) is None


def test_a_missing_host_pod_of_a_pod_that_never_started_is_missing() -> None:
    assert drift(v_pod(phase="Pending", node=None), None) == "missing"


@pytest.mark.parametrize(
    ("why", "v"),
    [
        ("gone after it started: the virtual pod is deleted instead", v_pod()),
        ("terminating", terminating(v_pod(phase="Pending", node=None))),
        ("below the Pod Security level", v_pod(phase="Pending", node=None, hostNetwork=True)),
        ("bound to a node the host lacks", v_pod(phase="Pending", node="ghost")),
        (
            "waits for an ambiguous reference's host copy",
            v_pod(
                phase="Pending", node=None, volumes=[{"name": "c", "configMap": {"name": "a-x-b"}}]
            ),
        ),
        (
            "refers to a host object that is not its reference's copy",
            v_pod(
                phase="Pending", node=None, volumes=[{"name": "c", "configMap": {"name": "cfg"}}]
            ),
        ),
    ],
)
def test_a_host_pod_held_back_on_purpose_is_not_missing(why: str, v: Json) -> None:
    taken = foreign(CONFIGMAPS, name=T.host_name("shop", "cfg"))
    assert drift(v, None, host={"nodes": [], "configmaps": [taken]}) is None, why


def test_the_held_back_pods_are_missing_once_what_held_them_is_there() -> None:
    node = {"metadata": {"name": "ghost"}}
    assert drift(v_pod(phase="Pending", node="ghost"), None, host={"nodes": [node]}) == "missing"
    v = v_pod(phase="Pending", node=None, volumes=[volume("a-x-b")])
    copy = host_copy(CONFIGMAPS, namespace="shop", name="a-x-b")
    assert drift(v, None, host={"configmaps": [copy]}) == "missing"


def test_either_side_terminating_is_in_flight_not_drift() -> None:
    v = v_pod()
    p = p_pod(v)
    p["spec"]["containers"][0]["image"] = "other"
    assert drift(terminating(v), p) is None
    assert drift(v, terminating(p)) is None


def test_a_host_pod_of_an_earlier_virtual_pod_names_the_uid_annotation() -> None:
    v = v_pod()
    p = p_pod(v)
    p["metadata"]["annotations"][OBJECT_UID_ANNOTATION] = "older"
    found = drift(v, p)
    assert found is not None
    assert found.startswith(f"metadata.annotations[{OBJECT_UID_ANNOTATION}]")


def test_a_host_node_the_virtual_pod_lacks_is_a_binding_due() -> None:
    v = v_pod(phase="Pending", node=None)
    p = p_pod(v)
    p["spec"]["nodeName"] = "n7"
    assert drift(v, p) == "spec.nodeName: the host placed the pod"


def test_a_host_status_the_virtual_pod_does_not_show_names_the_status_field() -> None:
    v = v_pod()
    p = p_pod(v)
    p["status"]["phase"] = "Succeeded"
    assert drift(v, p) == "status.phase"
    p = p_pod(v)
    p["status"]["qosClass"] = "Guaranteed"  # the virtual QoS class is kept: not drift
    assert drift(v, p) is None


def test_a_label_changed_on_the_host_flows_up() -> None:
    v = v_pod()
    p = p_pod(v)
    p["metadata"]["labels"]["app"] = "changed on the host"
    assert drift(v, p) == "metadata.labels.app: changed on the host"


def test_a_label_changed_in_virtual_flows_down() -> None:
    v = v_pod()
    p = p_pod(v)
    v["metadata"]["labels"]["app"] = "changed in virtual"
    assert drift(v, p) == "metadata.labels.app"


def test_a_syncer_label_changed_on_the_host_is_put_back() -> None:
    v = v_pod()
    p = p_pod(v)
    p["metadata"]["labels"][NAMESPACE_LABEL] = "another-namespace"
    assert drift(v, p) == f"metadata.labels[{NAMESPACE_LABEL}]"


def test_keys_others_add_on_the_host_outside_the_merge_are_not_drift() -> None:
    v = v_pod()
    p = p_pod(v)
    p["metadata"]["labels"]["vcluster.loft.sh/added-by-host-tooling"] = "x"
    p["metadata"]["annotations"]["vcluster.loft.sh/added-by-host-tooling"] = "x"
    assert drift(v, p) is None


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda v, p: p["spec"]["containers"][0].update(image="evil:1"),
            "spec.containers[0].image",
        ),
        (lambda v, p: v["spec"].update(activeDeadlineSeconds=30), "spec.activeDeadlineSeconds"),
        (
            lambda v, p: v["spec"].update(tolerations=[{"key": "k", "operator": "Exists"}]),
            "spec.tolerations",
        ),
        (
            lambda v, p: p["spec"].update(schedulingGates=[{"name": "wait"}]),
            "spec.schedulingGates",
        ),
    ],
)
def test_allowed_spec_fields_the_host_pod_lacks_name_the_field(change: Any, path: str) -> None:
    v = v_pod()
    p = p_pod(v)
    change(v, p)
    assert drift(v, p) == path


def test_spec_fields_a_running_pod_cannot_change_are_not_drift() -> None:
    v = v_pod()
    p = p_pod(v)
    v["spec"]["containers"][0]["command"] = ["sh"]  # immutable: the reconcile leaves it
    assert drift(v, p) is None


def test_an_update_refused_by_pod_security_is_not_drift() -> None:
    v = v_pod()
    p = p_pod(v)
    v["spec"]["containers"][0]["image"] = "app:2"
    assert drift(v, p) == "spec.containers[0].image"
    v["spec"]["hostPID"] = True  # the update would now be refused
    assert drift(v, p) is None


def test_a_missing_token_secret_is_drift_whichever_kinds_run() -> None:
    """The pods mapper keeps token Secrets with or without the secrets mapper."""
    v = v_pod(volumes=[TOKEN_VOLUME])
    p = p_pod(v)
    name = new_token_secret_name(T, v)
    secret = {"metadata": {"name": name, "namespace": T.host_namespace}}
    assert drift(v, p, host={"secrets": []}) == f"token Secret {name}: missing"
    assert drift(v, p, host={"secrets": [secret]}) is None
    assert drift(v, p) == f"token Secret {name}: missing"  # secrets kind off


def test_first_difference_walks_mappings_and_equal_length_lists() -> None:
    want = {"spec": {"containers": [{"name": "a", "image": "1"}]}, "metadata": {"labels": {}}}
    have = {"spec": {"containers": [{"name": "a", "image": "2"}]}, "metadata": {"labels": {}}}
    assert first_difference(want, have, path="") == "spec.containers[0].image"
    assert first_difference({"l": {"a/b": "1"}}, {"l": {}}, path="m") == "m.l[a/b]"
    assert first_difference([1, 2], [1], path="x") == "x"
    assert first_difference({"a": 1}, {"a": 1}, path="p") == "p"


async def test_the_drift_check_finds_missing_orphan_and_changed_host_pods() -> None:
    """Through the engine: the pods comparison, and the orphan rule that is the engine's own."""
    live, counts, queued = LiveHost(), Counts(), Queue()
    client = cast(KubeClient, live)
    sync = KindSync(
        mapper=make(translator=T),
        virtual=Informer(cluster="virtual", client=client, resource=PODS),
        host=Informer(cluster="host", client=client, resource=PODS, namespace=T.host_namespace),
        context=replace(Fake().ctx, host_read=live.read),
        enqueue=queued.append,
        metrics=counts,
    )
    for v in (v_pod(name="fine"), v_pod(name="changed"), v_pod(name="gone")):
        sync.virtual.store.add(v)
        p = p_pod(v)
        if v["metadata"]["name"] == "changed":
            p["spec"]["containers"][0]["image"] = "evil:1"
        sync.host.store.add(live.put(p))
    sync.virtual.store.delete(v_pod(name="gone"))
    sync.virtual.store.add(v_pod(name="lost", phase="Pending", node=None))
    sync.virtual.store.add(v_pod(name="refused", phase="Pending", node=None, hostPID=True))
    checker = DriftChecker(syncs=[sync], metrics=counts, interval=1, grace=0)
    found = await checker.check(sync)
    assert found == {
        ObjectKey("pods", "shop", "lost"): "missing",
        ObjectKey("pods", "shop", "gone"): "orphan",
        ObjectKey("pods", "shop", "changed"): "content",
    }
    assert sorted(queued) == sorted(found)
