"""Who reaches what through vsyncer's kubelet API: RBAC, client certificates, foreign pods, errors.

The virtual API server stays the only gate for tenants (RBAC on ``pods/log``,
``pods/exec``); vsyncer's kubelet port answers only the virtual API server's
kubelet-client certificate, and only for synced pods of its own vcluster.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from typing import Any

import aiohttp
import pytest

from syncer.kube import KubeClient
from syncer.localcluster import ControlPlane
from syncer.resources import PODS, Resource
from syncer.translate import (
    MANAGED_BY_LABEL,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
)
from tests.e2e.kubectl import kubectl
from tests.e2e.kubelet_fixtures import Tenant, kubelet_tls, tenant
from tests.e2e.test_sync_support import VCLUSTER, gone, pod, tenant_namespace, translator
from tests.kubehelpers import wait_for_object

__all__ = ["tenant"]

ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
SPDY = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}


def _requests(t: Tenant, verb: str) -> float:
    total = 0.0
    for metric in t.daemon.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "vsyncer_kubelet_requests_total" and sample.labels["verb"] == verb:
                total += sample.value
    return total


async def test_rbac_allows_logs_and_forbids_exec(tenant: Tenant, virtual: KubeClient) -> None:
    """A tenant with pods/log but not pods/exec: logs work, exec is 403 from the virtual API server.

    The exec never reaches vsyncer: the virtual API server decided.
    """
    t = tenant
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}
    await virtual.create(
        ROLES, namespace=t.v_ns, body={**role, "metadata": {"name": "reader"}, "rules": rules}
    )
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }
    await virtual.create(ROLEBINDINGS, namespace=t.v_ns, body=binding)
    as_alice = ("--as=alice", "-n", t.v_ns)
    logs = await kubectl(*as_alice, "logs", t.pod, "-c", "app", kubeconfig=t.kubeconfig)
    assert logs.code == 0, logs.stderr
    execs_before = _requests(t, "exec")
    denied = await kubectl(*as_alice, "exec", t.pod, "--", "echo", "hi", kubeconfig=t.kubeconfig)
    assert denied.code != 0
    assert "Forbidden" in denied.stderr or "forbidden" in denied.stderr, denied.stderr
    assert "pods/exec" in denied.stderr, denied.stderr
    assert _requests(t, "exec") == execs_before


async def _direct(
    t: Tenant, path: str, ctx: ssl.SSLContext, *, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    url = f"https://127.0.0.1:{t.kubelet_port}{path}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, ssl=ctx, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


async def test_direct_call_without_the_client_certificate_is_401(
    tenant: Tenant, control_plane: ControlPlane
) -> None:
    """The kubelet port answers 401 to anyone without the kubelet-client certificate."""
    t = tenant
    ctx = kubelet_tls(control_plane, with_certificate=False)
    for path in (f"/containerLogs/{t.v_ns}/{t.pod}/app", f"/exec/{t.v_ns}/{t.pod}/app"):
        assert await _direct(t, path, ctx, headers=SPDY) == (401, "Unauthorized\n")


async def test_direct_call_for_a_pod_without_a_host_twin_is_404(
    tenant: Tenant, control_plane: ControlPlane, virtual: KubeClient
) -> None:
    """With the certificate: a pod of another namespace that was never synced is 404."""
    t = tenant
    ctx = kubelet_tls(control_plane, with_certificate=True)
    async with tenant_namespace(virtual) as other:
        status, body = await _direct(t, f"/containerLogs/{other}/{t.pod}/app", ctx)
    assert status == 404
    assert "has no copy on the host cluster" in body
    ok, _ = await _direct(t, f"/containerLogs/{t.v_ns}/{t.pod}/app?tailLines=1", ctx)
    assert ok == 200


def _foreign(
    host_ns: str, name: str, *, labels: dict[str, str], annotations: dict[str, str]
) -> Any:
    body = pod(name)
    body["metadata"].update(namespace=host_ns, labels=labels, annotations=annotations)
    return body


def _refused_writes(t: Tenant) -> float:
    """vsyncer_host_writes_refused_total for pods, every reason."""
    total = 0.0
    for metric in t.daemon.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "vsyncer_host_writes_refused_total":
                total += sample.value if sample.labels.get("kind") == "pods" else 0.0
    return total


@pytest.mark.parametrize("forged", [False, True])
async def test_a_foreign_host_pod_is_unreachable_by_any_path(
    tenant: Tenant, control_plane: ControlPlane, host: KubeClient, forged: bool
) -> None:
    """A host pod under the host name of virtual pod ``ghost/<name>`` that is not ours: 404,
    and vsyncer leaves it alone (the same object stays; no write to it was even tried).

    Unlabelled, it is not even in the syncer's host cache; with a forged marker
    label, the test waits until the cache holds it: its provenance names another pod,
    so the ownership rule is what refuses it.  Each case has a host name of its own
    and its clean-up waits until the pod is gone: kwok, the host's kubelet here,
    deletes a terminating pod by name without a UID precondition, so a pod created
    under a name kwok is still deleting can vanish (seen in CI when both cases shared
    one name).
    """
    t = tenant
    v_name = "forged" if forged else "plain"
    name = translator(t.host_ns).host_name("ghost", v_name)
    labels = {MANAGED_BY_LABEL: VCLUSTER} if forged else {}
    annotations = (
        {
            OBJECT_NAME_ANNOTATION: "someone-else",
            OBJECT_NAMESPACE_ANNOTATION: "ghost",
            OBJECT_KIND_ANNOTATION: "/v1, Kind=Pod",
        }
        if forged
        else {}
    )
    refused = _refused_writes(t)
    created = await host.create(
        PODS,
        namespace=t.host_ns,
        body=_foreign(t.host_ns, name, labels=labels, annotations=annotations),
    )
    uid = created["metadata"]["uid"]
    ctx = kubelet_tls(control_plane, with_certificate=True)
    try:
        if forged:  # the ownership rule is what refuses it: wait until the syncer's cache has it
            store = t.daemon.informers[("host", "pods")].store
            async with asyncio.timeout(30):
                for _ in itertools.count():  # a bounded poll of the daemon thread's cache
                    if (t.host_ns, name) in store:  # a membership test, thread-safe
                        break
                    await asyncio.sleep(0.05)
        for path in (
            f"/containerLogs/ghost/{v_name}/main",
            f"/exec/ghost/{v_name}/main?command=id&output=1",
            f"/attach/ghost/{v_name}/main?output=1",
            f"/portForward/ghost/{v_name}",
        ):
            status, body = await _direct(t, path, ctx, headers=SPDY)
            assert status == 404, (path, body)
        kept = await host.get(PODS, namespace=t.host_ns, name=name)
        assert kept["metadata"]["uid"] == uid
        assert _refused_writes(t) == refused
    finally:
        await host.delete(PODS, namespace=t.host_ns, name=name, uid=uid, grace_period_seconds=0)
        await wait_for_object(host, PODS, namespace=t.host_ns, name=name, predicate=gone)


async def test_host_errors_are_passed_through(tenant: Tenant, control_plane: ControlPlane) -> None:
    """The host API server's refusal comes back with its status and message."""
    t = tenant
    ctx = kubelet_tls(control_plane, with_certificate=True)
    status, body = await _direct(t, f"/containerLogs/{t.v_ns}/{t.pod}/app?tailLines=x", ctx)
    assert status == 400
    assert "invalid syntax" in body
    status, body = await _direct(t, f"/exec/{t.v_ns}/{t.pod}/app?command=id", ctx, headers=SPDY)
    assert status == 400
    assert "stdin, stdout, stderr" in body


async def test_a_pod_that_was_never_synced_is_a_clear_error_in_kubectl(
    tenant: Tenant, virtual: KubeClient
) -> None:
    """A virtual pod on a fake node without a host copy (refused by pod security): kubectl
    logs and exec fail at once (within the bound), exec with vsyncer's message."""
    t = tenant
    web = await virtual.get(PODS, namespace=t.v_ns, name=t.pod)
    refused = pod(
        "refused",
        nodeName=web["spec"]["nodeName"],
        containers=[
            {
                "name": "main",
                "image": "registry.example/app:1",
                "securityContext": {"privileged": True},
            }
        ],
    )
    await virtual.create(PODS, namespace=t.v_ns, body=refused)
    logs = await kubectl("-n", t.v_ns, "logs", "refused", kubeconfig=t.kubeconfig, within=30)
    assert logs.code != 0
    # For a 404 the virtual API server keeps only the status (as for a kubelet's own 404).
    assert "(NotFound)" in logs.stderr, logs.stderr
    assert "pods/log refused" in logs.stderr, logs.stderr
    run = await kubectl(
        "-n", t.v_ns, "exec", "refused", "--", "true", kubeconfig=t.kubeconfig, within=30
    )
    assert run.code != 0
    assert "has no copy on the host cluster" in run.stderr, run.stderr


async def test_a_container_only_the_host_copy_has_is_404(
    tenant: Tenant, control_plane: ControlPlane, host: KubeClient
) -> None:
    """A debug container a host admin attached to the host copy is not the tenant's.

    The virtual API server checks container names for ``pods/exec``, but its
    ``nodes/proxy`` route passes the kubelet path on as it is; vsyncer answers
    404 for any name outside the virtual pod's spec, and nothing reaches the host.
    """
    t = tenant
    debug = {"name": "debugger", "image": "registry.example/debug:1", "targetContainerName": "app"}
    await host.patch(
        PODS,
        namespace=t.host_ns,
        name=t.host_pod,
        body={"spec": {"ephemeralContainers": [debug]}},
        patch_type="strategic",
        subresource="ephemeralcontainers",
    )
    copy = await host.get(PODS, namespace=t.host_ns, name=t.host_pod)
    assert [c["name"] for c in copy["spec"]["ephemeralContainers"]] == ["debugger"]
    ctx = kubelet_tls(control_plane, with_certificate=True)
    for path in (
        f"/containerLogs/{t.v_ns}/{t.pod}/debugger",
        f"/exec/{t.v_ns}/{t.pod}/debugger?command=id&output=1",
        f"/attach/{t.v_ns}/{t.pod}/debugger?output=1",
    ):
        status, body = await _direct(t, path, ctx, headers=SPDY)
        assert (status, body.strip()) == (
            404,
            f'container "debugger" is not a container of pod "{t.pod}" in namespace "{t.v_ns}"',
        ), path
    ok, _ = await _direct(t, f"/containerLogs/{t.v_ns}/{t.pod}/side?tailLines=1", ctx)
    assert ok == 200
