"""Isolation mode end to end: the quota, limit range and policy are made, kept and restored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncer.daemon import Daemon
from syncer.isolation_objects import (
    ISOLATION_LABEL,
    LIMITRANGES,
    NETWORKPOLICIES,
    PSA_ENFORCE_LABEL,
    RESOURCEQUOTAS,
    selects,
)
from syncer.kube import KubeClient
from syncer.resources import NAMESPACES, PODS, SERVICES, Resource
from syncer.translate import MANAGED_BY_LABEL, Translator
from tests.e2e.hostsnapshot import until
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "configmaps", "secrets", "nodes", "events")
NAME, POLICY = f"vc-{VCLUSTER}", f"vc-work-{VCLUSTER}"


def ours(obj: Json) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == VCLUSTER and labels.get(ISOLATION_LABEL) == VCLUSTER


async def wait_ours(
    host: KubeClient, resource: Resource, namespace: str, name: str, check: Callable[[Json], bool]
) -> Json:
    found = await wait_for_object(
        host,
        resource,
        namespace=namespace,
        name=name,
        predicate=where(lambda o: ours(o) and check(o)),
    )
    assert found is not None
    return found


async def test_the_objects_are_made_owned_and_restored_after_a_delete_or_an_edit(
    namespace_with_sa: str,
    host: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Created on start with the anchor as owner; a host admin's delete or edit is undone."""
    ns = namespace_with_sa
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
        isolation_label_namespace=True,
        isolation_quota=("count/pods=7",),
        isolation_resync=600,  # restores below come from watch events, not the timer
    ) as daemon:
        quota = await wait_ours(host, RESOURCEQUOTAS, ns, NAME, lambda o: True)
        assert quota["spec"]["hard"]["count/pods"] == "7"
        assert quota["spec"]["hard"]["requests.cpu"] == "10"
        anchor = await host.get(SERVICES, namespace=ns, name=VCLUSTER)
        owners = quota["metadata"]["ownerReferences"]
        assert [(o["kind"], o["uid"]) for o in owners] == [("Service", anchor["metadata"]["uid"])]
        limits = await wait_ours(host, LIMITRANGES, ns, NAME, lambda o: True)
        assert limits["spec"]["limits"][0]["defaultRequest"]["cpu"] == "100m"
        policy = await wait_ours(host, NETWORKPOLICIES, ns, POLICY, lambda o: True)
        namespace = await wait_for_object(
            host,
            NAMESPACES,
            namespace=None,
            name=ns,
            predicate=where(lambda o: o["metadata"]["labels"].get(PSA_ENFORCE_LABEL) == "baseline"),
        )
        assert namespace is not None

        await host.delete(RESOURCEQUOTAS, namespace=ns, name=NAME)
        old_uid = quota["metadata"]["uid"]
        await wait_ours(host, RESOURCEQUOTAS, ns, NAME, lambda o: o["metadata"]["uid"] != old_uid)
        # The recreated object can be seen before the controller counts its repair.
        await until(
            lambda: _sample(daemon, "vsyncer_drift_repaired_total", kind="resourcequotas") >= 1,
            within=30,
            what="the quota's repair counted",
        )
        assert (
            _sample(daemon, "vsyncer_drift_detected_total", kind="resourcequotas", reason="missing")
            >= 1
        )

        edited = {**limits, "spec": {"limits": [{"type": "Container", "default": {"cpu": "9"}}]}}
        await host.update(LIMITRANGES, namespace=ns, name=NAME, body=edited)
        await wait_ours(
            host,
            LIMITRANGES,
            ns,
            NAME,
            lambda o: o["spec"]["limits"][0].get("defaultRequest", {}).get("cpu") == "100m",
        )

        opened = {**policy, "spec": {**policy["spec"], "podSelector": {}, "ingress": [{}]}}
        await host.update(NETWORKPOLICIES, namespace=ns, name=POLICY, body=opened)
        await wait_ours(host, NETWORKPOLICIES, ns, POLICY, lambda o: o["spec"] == policy["spec"])

        relabelled = await host.get(NAMESPACES, namespace=None, name=ns)
        relabelled["metadata"]["labels"][PSA_ENFORCE_LABEL] = "privileged"
        await host.update(NAMESPACES, namespace=None, name=ns, body=relabelled)
        await wait_for_object(
            host,
            NAMESPACES,
            namespace=None,
            name=ns,
            predicate=where(lambda o: o["metadata"]["labels"].get(PSA_ENFORCE_LABEL) == "baseline"),
        )


async def test_an_object_under_the_name_that_is_not_ours_is_left_alone(
    namespace_with_sa: str,
    host: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """An admin's own quota named like vsyncer's is never modified; the others are made."""
    ns = namespace_with_sa
    foreign = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": NAME, "labels": {"team": "platform"}},
        "spec": {"hard": {"count/pods": "50"}},
    }
    created = await host.create(RESOURCEQUOTAS, namespace=ns, body=foreign)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
        isolation_resync=0.5,
        ready=waiting_for_the_quota,  # pods wait: the quota is not vsyncer's
    ) as daemon:
        await wait_ours(host, NETWORKPOLICIES, ns, POLICY, lambda o: True)
        await wait_ours(host, LIMITRANGES, ns, NAME, lambda o: True)
        isolation = daemon.isolation
        assert isolation is not None
        await asyncio.wait_for(isolation.settled.wait(), 30)  # reported, so not waited for
        # Several timed looks at the foreign quota (every 0.5 s) have passed once the
        # refusal counter moved three times.
        await until(lambda: _refused(daemon) >= 3, within=30, what="three refused looks")
        now = await host.get(RESOURCEQUOTAS, namespace=ns, name=NAME)
        assert now["metadata"]["uid"] == created["metadata"]["uid"]
        assert now["metadata"]["labels"] == {"team": "platform"}
        assert "ownerReferences" not in now["metadata"]
        assert now["spec"] == {"hard": {"count/pods": "50"}}  # its status is the quota controller's


def waiting_for_the_quota(daemon: Daemon) -> bool:
    """/readyz's reason names a foreign quota under isolation's name: pod creates wait."""
    ok, reason = daemon.ready()
    held = f"ResourceQuota {NAME} held by an object that is not vsyncer's"
    return not ok and reason.startswith("isolation objects not in place") and held in reason


def _sample(daemon: Daemon, name: str, **labels: str) -> float:
    return float(daemon.metrics.registry.get_sample_value(name, labels) or 0)


def _refused(daemon: Daemon) -> float:
    return _sample(
        daemon, "vsyncer_host_writes_refused_total", kind="ResourceQuota", reason="not_owned"
    )


async def test_the_policy_selects_exactly_this_vclusters_pods(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Evaluated against the host namespace's pods: this vcluster's synced pods, not a second
    vcluster's pods of the same virtual names, not the control plane; the control-plane peer
    selects the control plane pod and no tenant pod (even one labelled release=vc)."""
    ns = namespace_with_sa
    other = Translator(vcluster="vc2", host_namespace=ns)
    control_plane = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "control-plane", "labels": {"release": VCLUSTER, "app": "vcluster"}},
        "spec": {"containers": [{"name": "c", "image": "registry.example/cp:1"}]},
    }
    await host.create(PODS, namespace=ns, body=control_plane)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
    ):
        policy = await wait_ours(host, NETWORKPOLICIES, ns, POLICY, lambda o: True)
        names = ("web", "db")
        tenant = pod("web")
        tenant["metadata"]["labels"]["release"] = VCLUSTER  # a tenant posing as control plane
        await virtual.create(PODS, namespace=v_ns, body=tenant)
        await virtual.create(PODS, namespace=v_ns, body=pod("db"))
        for name in names:
            second = pod(other.host_name(v_ns, name))
            second["metadata"]["labels"] = other.translate_labels({"app": name}, namespace=v_ns)
            await host.create(PODS, namespace=ns, body=second)
        mine = {translator(ns).host_name(v_ns, name) for name in names}
        for name in mine:
            await wait_for_object(host, PODS, namespace=ns, name=name, predicate=exists)
        listed = (await host.list(PODS, namespace=ns))["items"]
        assert len(listed) == 5
        spec = policy["spec"]
        selected = {
            p["metadata"]["name"]
            for p in listed
            if selects(spec["podSelector"], p["metadata"]["labels"])
        }
        assert selected == mine
        peer = spec["ingress"][0]["from"][1]["podSelector"]
        as_control_plane = {
            p["metadata"]["name"] for p in listed if selects(peer, p["metadata"]["labels"])
        }
        assert as_control_plane == {"control-plane"}
        assert spec["egress"][0]["to"][1]["podSelector"] == peer


async def test_a_dry_run_writes_no_isolation_object(
    namespace_with_sa: str,
    host: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """With VSYNCER_DRY_RUN each create is counted and left out: nothing appears on the host."""
    ns = namespace_with_sa
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        isolation=True,
        isolation_label_namespace=True,
        dry_run=True,
    ) as daemon:
        isolation = daemon.isolation
        assert isolation is not None
        await asyncio.wait_for(isolation.settled.wait(), 30)
        for kind in ("resourcequotas", "limitranges", "networkpolicies"):
            counted = _sample(
                daemon, "vsyncer_dry_run_writes_total", cluster="host", kind=kind, verb="create"
            )
            assert counted >= 1, kind
        assert (
            _sample(
                daemon,
                "vsyncer_dry_run_writes_total",
                cluster="host",
                kind="namespaces",
                verb="patch",
            )
            >= 1
        )
        for resource in (RESOURCEQUOTAS, LIMITRANGES, NETWORKPOLICIES):
            assert (await host.list(resource, namespace=ns))["items"] == []
        namespace = await host.get(NAMESPACES, namespace=None, name=ns)
        assert PSA_ENFORCE_LABEL not in namespace["metadata"].get("labels", {})
