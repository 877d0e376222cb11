"""ServiceAccounts: host copies while pods run as them, identity annotations only; pods use them."""

from __future__ import annotations

from typing import Any

from mappers.podidentity import IDENTITY_INDEXES, PodIdentity
from mappers.serviceaccounts import (
    SERVICE_ACCOUNT_INDEX,
    ServiceAccountMapper,
    make,
    pod_service_account,
)
from mappers.workloadsa import workload_account
from syncer.api import (
    DONE,
    MANAGED_BY_LABEL,
    PODS,
    SERVICEACCOUNTS,
    MapperConfig,
    ObjectKey,
    Refused,
    Result,
)
from syncer.kind_settings import DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS
from syncer.kit.testing import TRANSLATOR as T
from syncer.kit.testing import FakeCache, FakeContext, foreign

Json = dict[str, Any]
WITH_ACCOUNTS = MapperConfig(kinds=("pods", "serviceaccounts"))
ROLE = "arn:aws:iam::123456789012:role/shop"


def v_account(name: str = "builder", **fields: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": "sa-uid",
            "labels": {"team": "a"},
            "annotations": {"eks.amazonaws.com/role-arn": ROLE, "example.com/note": "x"},
        },
        **fields,
    }


def v_pod(account: str | None = "builder") -> Json:
    spec: Json = {"containers": [{"name": "main", "image": "app:1"}]}
    if account:
        spec["serviceAccountName"] = account
    return {"metadata": {"name": "web", "namespace": "shop", "uid": "p-uid"}, "spec": spec}


def fake(*pods: Json) -> FakeContext:
    """A context whose virtual pods store carries the pods mapper's identity index."""
    context = FakeContext(virtual={"pods": list(pods)}, enabled=[PODS, SERVICEACCOUNTS])
    for name, fn in IDENTITY_INDEXES.items():
        context.virtual_caches["pods"].indexes[name] = fn
    return context


def mapper(context: FakeContext) -> ServiceAccountMapper:
    return context.bind(make(translator=T, config=WITH_ACCOUNTS))


def test_a_pod_runs_as_default_when_it_names_no_account() -> None:
    assert pod_service_account(v_pod(None)) == "default"
    assert IDENTITY_INDEXES[SERVICE_ACCOUNT_INDEX](v_pod()) == ["shop/builder"]


async def test_an_account_in_use_goes_down_with_identity_annotations_only() -> None:
    context = fake(v_pod())
    accounts = mapper(context)
    v_obj = v_account(
        secrets=[{"name": "tok"}],
        imagePullSecrets=[{"name": "reg"}],
        automountServiceAccountToken=True,
    )
    assert await accounts.sync_to_host(context.ctx, v_obj) == DONE
    [created] = context.host.created
    assert created["metadata"]["name"] == T.host_name("shop", "builder")
    assert created["metadata"]["labels"]["team"] == "a"
    assert created["metadata"]["labels"][MANAGED_BY_LABEL] == T.vcluster
    annotations = created["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"] == ROLE
    assert "example.com/note" not in annotations
    assert created["automountServiceAccountToken"] is False
    assert "secrets" not in created
    assert "imagePullSecrets" not in created
    assert accounts.host_to_virtual(created) == ObjectKey("serviceaccounts", "shop", "builder")
    assert accounts.drift(context.ctx, v_obj, created) is None


async def test_an_account_no_pod_uses_is_not_synced_and_its_copy_goes() -> None:
    context = fake(v_pod("other"))
    accounts = mapper(context)
    assert await accounts.sync_to_host(context.ctx, v_account()) == DONE
    assert context.calls == []
    used = fake(v_pod())
    await mapper(used).sync_to_host(used.ctx, v_account())
    p_obj = {**used.host.created[0], "metadata": {**used.host.created[0]["metadata"], "uid": "h"}}
    assert await accounts.sync(context.ctx, v_account(), p_obj) == DONE  # no pod names it now
    assert context.calls == [("host", "delete(grace=None)", T.host_name("shop", "builder"))]
    # A pod's change enqueues the accounts it named before and after.
    assert accounts.keys_of_referrer(v_pod()) == [ObjectKey("serviceaccounts", "shop", "builder")]


def test_the_allow_list_setting() -> None:
    strict = make(translator=T, config=MapperConfig(service_account_annotations=()))
    assert strict.annotations == ()
    assert "iam.gke.io/gcp-service-account" in DEFAULT_SERVICE_ACCOUNT_ANNOTATIONS


async def test_pods_run_as_their_accounts_copy_once_it_is_there() -> None:
    """With the kind on: the host name of the pod's account, a wait while the copy is
    missing (or the name is another object's), no workload account made."""
    identity = PodIdentity.of(config=WITH_ACCOUNTS, translator=T)
    assert identity.service_account(v_pod()) == T.host_name("shop", "builder")
    assert identity.service_account(v_pod(None)) == T.host_name("shop", "default")
    context = FakeContext(virtual={}, enabled=[SERVICEACCOUNTS], reads=[SERVICEACCOUNTS])
    assert isinstance(await identity.ensure(context.ctx, v_pod()), Result)
    assert context.events == [("Warning", "WaitingForReferences")]
    squatter = foreign(SERVICEACCOUNTS, name=T.host_name("shop", "builder"))
    context.host_caches["serviceaccounts"] = FakeCache([squatter])
    assert isinstance(await identity.ensure(context.ctx, v_pod()), Result)

    copier = fake(v_pod())
    await mapper(copier).sync_to_host(copier.ctx, v_account())
    context.host_caches["serviceaccounts"] = FakeCache(copier.host.created)
    assert await identity.ensure(context.ctx, v_pod()) is None
    assert context.calls == []  # no workload account looked up or made


def test_without_the_kind_pods_run_as_the_workload_account() -> None:
    identity = PodIdentity.of(config=MapperConfig(), translator=T)
    assert identity.service_account(v_pod()) == "vc-workload-vc"


def test_a_rejection_for_a_missing_account_is_retried_soon() -> None:
    identity = PodIdentity.of(config=WITH_ACCOUNTS, translator=T)
    message = f"error looking up service account {T.host_namespace}/x: not found"
    retried = identity.after_rejection(
        Refused(reason="host_rejected", message=message, retry_after=300.0),
        host_namespace=T.host_namespace,
    )
    assert retried.reason == "service_account"
    assert retried.retry_after == 10.0
    other = Refused(reason="host_rejected", message="denied by policy", retry_after=300.0)
    assert identity.after_rejection(other, host_namespace=T.host_namespace) is other


def test_the_workload_account_is_never_a_copy() -> None:
    workload = workload_account(
        name="vc-workload-vc", vcluster=T.vcluster, host_namespace="host-ns"
    )
    accounts = make(translator=T, config=WITH_ACCOUNTS)
    assert not accounts.is_managed(workload)
    assert accounts.host_to_virtual(workload) is None
