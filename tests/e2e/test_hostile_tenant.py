"""The host stays untouched outside what is ours, whatever a hostile tenant writes.

One real daemon (every built-in kind) serves the whole module; each test makes
its own virtual namespaces.  Every test takes a :class:`HostSnapshot` of the
host objects vsyncer does not own — in its host namespace and in a
neighbouring host namespace holding look-alikes of its objects — before the
tenant acts, and asserts afterwards that none of them was written, deleted or
joined by a look-alike copy; and that each refused object got its Warning.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from syncer.daemon import Daemon
from syncer.keys import ObjectKey
from syncer.kube import KubeClient
from syncer.resources import (
    CONFIGMAPS,
    ENDPOINTS,
    PODS,
    SECRETS,
    SERVICES,
    Resource,
)
from syncer.translate import (
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    Translator,
)
from tests.e2e import hostile_fixtures
from tests.e2e.hostile_fixtures import (
    copy_of,
    snapshot,
    true_provenance,
)
from tests.e2e.hostile_inputs import (
    configmap,
    gated_pod,
    other_vclusters_copy,
    reader,
    secret,
    service,
    spoofed_annotations,
    spoofed_labels,
)
from tests.e2e.hostsnapshot import refused, until
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    tenant_namespace,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]

# The module's host namespaces and daemon (one of each per module).
host_ns = hostile_fixtures.host_ns
neighbour_ns = hostile_fixtures.neighbour_ns
daemon = hostile_fixtures.daemon
t = hostile_fixtures.t


async def test_spoofed_markers_and_provenance_reach_no_other_object(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """Tenant a plants b's copy's provenance, markers, a namespace-label copy and vsyncer's
    bookkeeping on its configmap, secret, pod and service: a's copies carry a's true
    provenance and labels, b's copies and every foreign object stay as they were."""
    del daemon
    async with (
        tenant_namespace(virtual, labels={"team": "red"}) as a,
        tenant_namespace(virtual, labels={"team": "blue"}) as b,
    ):
        v_b = {
            CONFIGMAPS: await virtual.create(CONFIGMAPS, namespace=b, body=configmap("shared")),
            SECRETS: await virtual.create(SECRETS, namespace=b, body=secret("shared", value="b")),
        }
        await virtual.create(PODS, namespace=b, body=reader("web", configmaps=("shared",),
                                                            secrets=("shared",)))  # fmt: skip
        b_copies = {r: await copy_of(host, t, r, v_obj) for r, v_obj in v_b.items()}
        # Foreign objects the spoofs aim at: one unmarked, one marked as a's copy under a
        # name that is not its translation; look-alikes in the neighbouring namespace.
        target = t.host_name(a, "shared")[:40] + "-target"
        posing = {OBJECT_NAME_ANNOTATION: "shared", OBJECT_NAMESPACE_ANNOTATION: a}
        await host.create(CONFIGMAPS, namespace=t.host_namespace, body=configmap(target))
        await host.create(CONFIGMAPS, namespace=t.host_namespace, body=configmap(
            target + "-2", labels={MANAGED_BY_LABEL: t.vcluster}, annotations=posing))  # fmt: skip
        for body in (configmap(target), secret(target), service(target), gated_pod(target)):
            await host.create(
                {"ConfigMap": CONFIGMAPS, "Secret": SECRETS, "Service": SERVICES, "Pod": PODS}[
                    body["kind"]
                ],
                namespace=neighbour_ns,
                body=body,
            )
        before = await snapshot(host, t, neighbour_ns)
        assert ("configmaps", t.host_namespace, target + "-2") in before.versions
        assert ("pods", neighbour_ns, target) in before.versions
        labels = spoofed_labels(t, victim_namespace=b, namespace_label="team")
        v_a: dict[Resource, Json] = {}
        for resource, body in (
            (CONFIGMAPS, configmap("shared")),
            (SECRETS, secret("shared", value="a")),
            (SERVICES, service("web", selector={"app": "web", **labels})),
            (PODS, reader("web", configmaps=("shared",), secrets=("shared",))),
        ):
            victim = b_copies.get(resource, b_copies[CONFIGMAPS])
            body["metadata"]["labels"] = {**body["metadata"].get("labels", {}), **labels}
            body["metadata"]["annotations"] = spoofed_annotations(
                kind_string=resource.kind_string, victim=victim, target=target,
                elsewhere=neighbour_ns,
            )  # fmt: skip
            v_a[resource] = await virtual.create(resource, namespace=a, body=body)
        for resource, v_obj in v_a.items():
            p_obj = await copy_of(host, t, resource, v_obj)
            p_labels = p_obj["metadata"]["labels"]
            p_annotations = p_obj["metadata"]["annotations"]
            truth = true_provenance(t, resource, v_obj)
            for key, value in truth.items():
                assert p_annotations[key] == value, (resource.kind, key)
            assert p_labels[MANAGED_BY_LABEL] == t.vcluster
            assert p_labels[NAMESPACE_LABEL] == a, resource.kind
            for key, value in v_obj["metadata"]["annotations"].items():
                assert p_annotations.get(key) != value or truth.get(key) == value, key
            for key in labels:
                assert (
                    key in (MANAGED_BY_LABEL, NAMESPACE_LABEL)
                    or key not in p_labels
                    or (resource == PODS and key == t.namespace_label_key("team"))
                ), (resource.kind, key)
            if resource == PODS:  # the namespace-label copy tells a's true label
                assert p_labels[t.namespace_label_key("team")] == "red"
            if resource == SERVICES:  # the selector can only match a's pods
                selector = p_obj["spec"]["selector"]
                assert selector[NAMESPACE_LABEL] == a
                assert selector[MANAGED_BY_LABEL] == t.vcluster
        p_secret = await host.get(
            SECRETS, namespace=t.host_namespace, name=t.host_name(a, "shared")
        )
        assert base64.b64decode(p_secret["data"]["value"]) == b"a"
        for resource, p_obj in b_copies.items():
            now = await host.get(
                resource, namespace=t.host_namespace, name=p_obj["metadata"]["name"]
            )
            assert now["metadata"]["resourceVersion"] == p_obj["metadata"]["resourceVersion"]
        assert await before.changes(host) == []


#: What blocks each key in the next test: (kind, virtual name, foreign, or another vcluster's).
BLOCKED: tuple[tuple[Resource, str, bool], ...] = (
    (CONFIGMAPS, "conf", False),
    (SECRETS, "cred", False),
    (SERVICES, "front", False),
    (PODS, "worker", False),
    (CONFIGMAPS, "conf2", True),
    (SERVICES, "front2", True),
)
#: Pods using the blocked configmaps and secret, each refused for its reference.
USERS = {"use-conf": ("conf", ""), "use-cred": ("", "cred"), "use-conf2": ("conf2", "")}


def plain(resource: Resource, name: str, *, foreign: bool = False) -> Json:
    """A plain object of ``resource`` (a foreign pod is gated: no host controller writes it)."""
    if resource == CONFIGMAPS:
        return configmap(name)
    if resource == SECRETS:
        return secret(name)
    if resource == SERVICES:
        return service(name)
    return gated_pod(name) if foreign else reader(name)


def in_the_way(resource: Resource, name: str) -> Json:
    return plain(resource, name, foreign=True)


async def test_objects_in_the_way_are_never_touched_and_their_keys_retried(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """Unmarked host objects, and ones marked as another vcluster's copy of the very same
    virtual object, under the host names of a configmap and a secret (each used by a pod),
    a service and a pod: none is written; each virtual object gets SyncRefused, each pod
    using one too, and the blocked keys are looked at again (backoff from 1 s)."""
    async with tenant_namespace(virtual) as v_ns:
        for resource, name, others in BLOCKED:
            p_name = t.host_name(v_ns, name)
            body = in_the_way(resource, p_name)
            if others:
                body = other_vclusters_copy(
                    body, kind_string=resource.kind_string, v_namespace=v_ns, v_name=name,
                    p_name=p_name,
                )  # fmt: skip
            await host.create(resource, namespace=t.host_namespace, body=body)
            await host.create(resource, namespace=neighbour_ns, body=in_the_way(resource, p_name))
        before = await snapshot(host, t, neighbour_ns)
        for resource, name, _ in BLOCKED:
            assert (resource.plural, t.host_namespace, t.host_name(v_ns, name)) in before.versions
        counts = {
            r.plural: refused(daemon, kind=r.plural, reason="host_name_taken") for r, *_ in BLOCKED
        }
        for resource, name, _ in BLOCKED:
            body = plain(resource, name)
            await virtual.create(resource, namespace=v_ns, body=body)
        for pod_name, (cm, sec) in USERS.items():
            body = reader(pod_name, configmaps=(cm,) if cm else (), secrets=(sec,) if sec else ())
            await virtual.create(PODS, namespace=v_ns, body=body)
        for resource, name, _ in BLOCKED:
            event = await wait_for_event(virtual, namespace=v_ns, reason="SyncRefused", name=name)
            assert event["type"] == "Warning"
            assert event["involvedObject"]["kind"] == resource.kind
            assert t.host_name(v_ns, name) in event["message"]
        for pod_name in USERS:
            event = await wait_for_event(
                virtual, namespace=v_ns, reason="SyncRefused", name=pod_name
            )
            assert "belongs to another virtual object" in event["message"], event["message"]
        # Retried: every blocked key is refused again after its first backoff.
        for resource, *_ in BLOCKED:
            keys = sum(1 for r, *_ in BLOCKED if r == resource)
            await until(
                lambda r=resource, n=keys: refused(daemon, kind=r.plural, reason="host_name_taken")
                >= counts[r.plural] + 2 * n,
                within=30, what=f"a second refusal of each blocked {resource.plural} key",
            )  # fmt: skip
        for resource, name, _ in BLOCKED:
            assert daemon.syncs[resource.plural].is_held(ObjectKey(resource.plural, v_ns, name))
        for pod_name in USERS:
            p_pod = t.host_name(v_ns, pod_name)
            assert await get_or_none(host, PODS, namespace=t.host_namespace, name=p_pod) is None
        assert await before.changes(host) == []
        assert daemon.healthy()


async def test_names_hashed_alike_stay_apart_and_wait_for_their_own_copies(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """Two configmaps whose long names share the 52-character cut get different host names and
    each its own copy; a pod using a secret whose host name is hashed (so another object could
    share it) waits, with a Warning, until that secret's own copy exists, then runs."""
    del daemon
    stem = "hashed-" + "n" * 50
    one, two, key = f"{stem}-one", f"{stem}-two", f"{stem}-key"
    async with tenant_namespace(virtual) as v_ns:
        p_one, p_two = t.host_name(v_ns, one), t.host_name(v_ns, two)
        assert p_one[:52] == p_two[:52]
        assert p_one != p_two
        before = await snapshot(host, t, neighbour_ns)
        v_one = await virtual.create(CONFIGMAPS, namespace=v_ns, body=configmap(one))
        v_two = await virtual.create(CONFIGMAPS, namespace=v_ns, body=configmap(two))
        await virtual.create(PODS, namespace=v_ns, body=reader("p-one", configmaps=(one,),
                                                                 secrets=(key,)))  # fmt: skip
        await virtual.create(PODS, namespace=v_ns, body=reader("p-two", configmaps=(two,)))
        event = await wait_for_event(
            virtual, namespace=v_ns, reason="WaitingForReferences", name="p-one"
        )
        assert event["type"] == "Warning"
        assert f"secret '{key}'" in event["message"]
        for v_obj in (v_one, v_two):
            p_obj = await copy_of(host, t, CONFIGMAPS, v_obj)
            assert p_obj["data"] == {"owner": v_obj["metadata"]["name"]}
            for k, value in true_provenance(t, CONFIGMAPS, v_obj).items():
                assert p_obj["metadata"]["annotations"][k] == value
        await wait_for_object(
            host, PODS, namespace=t.host_namespace, name=t.host_name(v_ns, "p-two"),
            predicate=exists,
        )  # fmt: skip
        p_user = t.host_name(v_ns, "p-one")
        assert await get_or_none(host, PODS, namespace=t.host_namespace, name=p_user) is None
        v_key = await virtual.create(SECRETS, namespace=v_ns, body=secret(key, value="own"))
        p_key = await copy_of(host, t, SECRETS, v_key)
        assert base64.b64decode(p_key["data"]["value"]) == b"own"
        p_pod = await wait_for_object(
            host, PODS, namespace=t.host_namespace, name=p_user, predicate=exists, within=45
        )
        assert p_pod is not None
        mounted = {v["name"]: v for v in p_pod["spec"]["volumes"]}
        assert mounted["s0"]["secret"]["secretName"] == p_key["metadata"]["name"]
        assert mounted["c0"]["configMap"]["name"] == p_one
        assert await before.changes(host) == []


# aiohttp warns (ResourceWarning) when a request body over 1 MiB is passed as raw bytes, as
# KubeClient.request does; this suite turns warnings into errors, so without this filter the
# copy's create fails and is retried forever with no Warning event (reported: the client
# should pass such bodies as a stream).  Python ignores ResourceWarning by default.
async def test_a_tenant_pod_cannot_join_a_host_service_selecting_on_release(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """A host Service selecting app=vcluster, release=vc (as vcluster's control plane does)
    never gets a tenant pod labelled so: 'release' is renamed on the host.  A host Service
    selecting only on keys a tenant may set does (shown here; the host namespace must hold
    no such Service), and that is the only host object that changes."""
    del daemon
    guarded, open_ = f"control-{secrets.token_hex(3)}", f"open-{secrets.token_hex(3)}"
    await host.create(SERVICES, namespace=t.host_namespace, body=service(
        guarded, selector={"app": "vcluster", "release": t.vcluster}))  # fmt: skip
    await host.create(
        SERVICES, namespace=t.host_namespace, body=service(open_, selector={"app": "vcluster"})
    )
    for name in (guarded, open_):
        await wait_for_object(
            host, ENDPOINTS, namespace=t.host_namespace, name=name, predicate=exists
        )
    async with tenant_namespace(virtual) as v_ns:
        before = await snapshot(host, t, neighbour_ns)
        body = reader("mitm")
        body["metadata"]["labels"] = {"app": "vcluster", "release": t.vcluster}
        await virtual.create(PODS, namespace=v_ns, body=body)
        p_pod = await wait_for_object(
            host, PODS, namespace=t.host_namespace, name=t.host_name(v_ns, "mitm"),
            predicate=where(lambda o: bool(o.get("status", {}).get("podIP"))),
        )  # fmt: skip
        assert p_pod is not None
        ip = p_pod["status"]["podIP"]

        def lists_the_pod(obj: Json) -> bool:
            subsets = obj.get("subsets") or []
            found = [a.get("ip") for s in subsets for a in s.get("addresses") or []]
            found += [a.get("ip") for s in subsets for a in s.get("notReadyAddresses") or []]
            return ip in found

        await wait_for_object(
            host, ENDPOINTS, namespace=t.host_namespace, name=open_, predicate=where(lists_the_pod)
        )
        changes = await before.changes(host)
        assert [c.split(":")[0] for c in changes] == [
            f"written endpoints/{t.host_namespace}/{open_}"
        ]
        guarded_now = await host.get(ENDPOINTS, namespace=t.host_namespace, name=guarded)
        assert not lists_the_pod(guarded_now)
