"""Host pods run as the host workload service account, not the namespace's ``default``:
made by vsyncer when missing, used as it is when someone else made it, and a pod is
refused (Warning event, metric, retried) while it can be neither found nor made."""

from __future__ import annotations

from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import PODS, SERVICEACCOUNTS, Resource
from syncer.translate import MANAGED_BY_LABEL, OBJECT_KIND_ANNOTATION
from tests.e2e.hostsnapshot import refused
from tests.e2e.test_sync_support import (
    VCLUSTER,
    exists,
    pod,
    run_syncer,
    translator,
    wait_for_event,
    where,
)
from tests.kubehelpers import wait_for_object

RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")
KINDS = ("pods", "nodes", "events")


def _running(obj: dict[str, object]) -> bool:
    status = obj.get("status")
    return isinstance(status, dict) and status.get("phase") == "Running"


async def test_host_pods_run_as_vc_workload_made_by_vsyncer(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """By default: vc-workload-<vcluster>, created with the marker label and automount off;
    the host pod names it and mounts no host token; the virtual pod keeps its own account.
    Deleted later, it is made again for the next pod."""
    t = translator(namespace_with_sa)
    name = f"vc-workload-{VCLUSTER}"
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "web"),
            predicate=where(_running),
        )
        assert p_pod is not None
        assert p_pod["spec"]["serviceAccountName"] == name
        assert p_pod["spec"]["automountServiceAccountToken"] is False
        mounts = [m["mountPath"] for c in p_pod["spec"]["containers"] for m in c["volumeMounts"]]
        assert mounts.count("/var/run/secrets/kubernetes.io/serviceaccount") == 1  # virtual
        account = await host.get(SERVICEACCOUNTS, namespace=namespace_with_sa, name=name)
        assert account["metadata"]["labels"][MANAGED_BY_LABEL] == VCLUSTER
        assert OBJECT_KIND_ANNOTATION in account["metadata"]["annotations"]
        assert account["automountServiceAccountToken"] is False
        v_pod = await virtual.get(PODS, namespace=v_ns, name="web")
        assert v_pod["spec"]["serviceAccountName"] == "default"

        # Deleted behind the syncer's back: the host rejects the next pod, the syncer
        # makes the account again at the retry and the pod runs.
        await host.delete(SERVICEACCOUNTS, namespace=namespace_with_sa, name=name)
        await virtual.create(PODS, namespace=v_ns, body=pod("web2"))
        again = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "web2"),
            predicate=where(_running),
        )
        assert again is not None
        assert again["spec"]["serviceAccountName"] == name
        await host.get(SERVICEACCOUNTS, namespace=namespace_with_sa, name=name)


async def test_an_existing_account_is_used_and_never_modified(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """VSYNCER_WORKLOAD_SERVICE_ACCOUNT names an account an admin made: pods run as it,
    and it is left exactly as it was."""
    t = translator(namespace_with_sa)
    body = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "runner", "labels": {"team": "platform"}},
    }
    made = await host.create(SERVICEACCOUNTS, namespace=namespace_with_sa, body=body)
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        workload_service_account="runner",
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "web"),
            predicate=where(_running),
        )
        assert p_pod is not None
        assert p_pod["spec"]["serviceAccountName"] == "runner"
        after = await host.get(SERVICEACCOUNTS, namespace=namespace_with_sa, name="runner")
        assert after["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]
        assert after["metadata"]["labels"] == {"team": "platform"}


async def test_a_missing_account_that_cannot_be_made_refuses_pods_until_it_can(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A host quota forbids another service account: the virtual pod gets a Warning event
    naming the account, the refusal is counted, the syncer keeps running; once the quota
    goes, the retry makes the account and the pod runs."""
    t = translator(namespace_with_sa)
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "no-more-accounts"},
        "spec": {"hard": {"count/serviceaccounts": "1"}},  # `default` takes it
    }
    await host.create(RESOURCEQUOTAS, namespace=namespace_with_sa, body=quota)
    await wait_for_object(
        host,
        RESOURCEQUOTAS,
        namespace=namespace_with_sa,
        name="no-more-accounts",
        predicate=where(lambda o: "count/serviceaccounts" in o.get("status", {}).get("used", {})),
    )
    async with run_syncer(
        host_namespace=namespace_with_sa,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ) as daemon:
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        event = await wait_for_event(virtual, namespace=v_ns, reason="SyncError", name="web")
        assert f"vc-workload-{VCLUSTER} is missing and cannot be created" in event["message"]
        assert event["type"] == "Warning"
        assert refused(daemon, kind="pods", reason="workload_service_account") >= 1
        assert daemon.ready()[0]
        await host.delete(RESOURCEQUOTAS, namespace=namespace_with_sa, name="no-more-accounts")
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=namespace_with_sa,
            name=t.host_name(v_ns, "web"),
            predicate=exists,
            within=60,
        )
        assert p_pod is not None
        assert p_pod["spec"]["serviceAccountName"] == f"vc-workload-{VCLUSTER}"
