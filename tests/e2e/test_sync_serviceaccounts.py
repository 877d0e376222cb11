"""ServiceAccounts end to end: a host account per virtual one a pod runs as.

The host pod runs as the host copy of its own account (the identity a cloud
IAM binding would name), with only the workload-identity annotation copied,
while its mounted token is still the virtual account's; the copy goes with the
last pod that uses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.kube import KubeClient
from syncer.resources import PODS, SECRETS, SERVICEACCOUNTS
from syncer.translate import MANAGED_BY_LABEL
from tests.e2e.test_sync_support import (
    exists,
    gone,
    pod,
    run_syncer,
    translator,
    where,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("pods", "serviceaccounts")
ROLE = "arn:aws:iam::123456789012:role/builder"


def account(name: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "labels": {"team": "a"},
            "annotations": {"eks.amazonaws.com/role-arn": ROLE, "example.com/owner": "me"},
        },
        "imagePullSecrets": [{"name": "registry"}],
    }


async def test_pods_run_as_the_host_copy_of_their_own_account(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Account copied for its pod (identity annotation only, no token); the host pod runs as
    it and still mounts the virtual token; a pod without an account runs as the copy of
    ``default``; the copy goes with the last pod using it."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    await wait_for_object(
        virtual, SERVICEACCOUNTS, namespace=v_ns, name="default", predicate=exists
    )
    await virtual.create(SERVICEACCOUNTS, namespace=v_ns, body=account("builder"))
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(PODS, namespace=v_ns, body=pod("build", serviceAccountName="builder"))
        await virtual.create(PODS, namespace=v_ns, body=pod("plain"))
        p_account = await wait_for_object(
            host, SERVICEACCOUNTS, namespace=ns, name=t.host_name(v_ns, "builder"), predicate=exists
        )
        assert p_account is not None
        assert p_account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE
        assert "example.com/owner" not in p_account["metadata"]["annotations"]
        assert p_account["metadata"]["labels"]["team"] == "a"
        assert p_account["metadata"]["labels"][MANAGED_BY_LABEL] == "vc"
        assert p_account["automountServiceAccountToken"] is False
        assert "imagePullSecrets" not in p_account

        p_pod = await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "build"), predicate=exists
        )
        assert p_pod is not None
        assert p_pod["spec"]["serviceAccountName"] == t.host_name(v_ns, "builder")
        assert p_pod["spec"]["automountServiceAccountToken"] is False
        # The virtual account's token, from the token Secret, as without the kind.
        access = next(v for v in p_pod["spec"]["volumes"] if v["name"].startswith("kube-api"))
        [token] = {s["secret"]["name"] for s in access["projected"]["sources"] if "secret" in s}
        await wait_for_object(
            host,
            SECRETS,
            namespace=ns,
            name=token,
            predicate=where(lambda s: bool(s.get("data", {}).get("token"))),
        )
        plain = await wait_for_object(
            host, PODS, namespace=ns, name=t.host_name(v_ns, "plain"), predicate=exists
        )
        assert plain is not None
        assert plain["spec"]["serviceAccountName"] == t.host_name(v_ns, "default")

        # The last pod using the account goes: so does its host copy (default stays in use).
        await virtual.delete(PODS, namespace=v_ns, name="build", grace_period_seconds=0)
        await wait_for_object(
            host, SERVICEACCOUNTS, namespace=ns, name=t.host_name(v_ns, "builder"), predicate=gone
        )
        assert await virtual.get(SERVICEACCOUNTS, namespace=v_ns, name="builder")
        await host.get(SERVICEACCOUNTS, namespace=ns, name=t.host_name(v_ns, "default"))
