"""The host workload service account: named by host pods, made when missing, never modified."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.pods import make
from mappers.workloadsa import (
    CHECK_SECONDS,
    RETRY_MAX_SECONDS,
    RETRY_SECONDS,
    WorkloadAccount,
    workload_account,
    workload_account_name,
)
from syncer.api import (
    SERVICEACCOUNTS,
    AlreadyExists,
    Forbidden,
    MapperConfig,
    Refused,
)
from syncer.errors import ServerError
from tests.mappers.fakes import WORKLOAD, Fake, T, pod_created

Json = dict[str, Any]
POD: Json = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"},
    "spec": {"serviceAccountName": "builder", "containers": [{"name": "c", "image": "nginx"}]},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_name_is_the_setting_or_vc_workload_vcluster() -> None:
    """vcluster's chart default, unless configured."""
    assert workload_account_name(configured=None, vcluster="dev") == "vc-workload-dev"
    assert workload_account_name(configured="runner", vcluster="dev") == "runner"


def test_the_account_made_is_ours_by_the_host_writer_s_rule_and_mounts_no_token() -> None:
    """Marker label, its own object-kind, the host namespace; automount off."""
    body = workload_account(name=WORKLOAD, vcluster=T.vcluster, host_namespace=T.host_namespace)
    assert T.is_owned(body, kind_string=SERVICEACCOUNTS.kind_string)
    assert body["automountServiceAccountToken"] is False


async def test_host_pods_run_as_the_configured_account_without_its_token() -> None:
    """The virtual serviceAccountName is not copied; the host account's token is not mounted."""
    fake = Fake(host={"pods": []})
    mapper = make(translator=T, config=MapperConfig(workload_service_account="runner"))
    await mapper.sync_to_host(fake.ctx, POD)
    p_pod = next(o for o in fake.host.created if o["kind"] == "Pod")
    assert p_pod["spec"]["serviceAccountName"] == "runner"
    assert p_pod["spec"]["automountServiceAccountToken"] is False
    assert "serviceAccount" not in p_pod["spec"]


async def test_a_missing_account_is_created_once_then_trusted_for_a_while() -> None:
    """GET (missing) → create; later pods within CHECK_SECONDS ask nothing; then GET again."""
    clock = Clock()
    account = WorkloadAccount(name=WORKLOAD, clock=clock)
    fake = Fake()
    await account.ensure(fake.ctx)
    assert fake.calls == [("host", "get", WORKLOAD), ("host", "create", WORKLOAD)]
    await account.ensure(fake.ctx)
    clock.now += CHECK_SECONDS - 1
    await account.ensure(fake.ctx)
    assert len(fake.calls) == 2
    clock.now += 2
    fake.host_live.put(fake.host.created[0])
    await account.ensure(fake.ctx)
    assert fake.calls[2:] == [("host", "get", WORKLOAD)]


async def test_an_existing_account_is_used_as_it_is() -> None:
    """Someone else's account (vcluster's chart): read, never written."""
    foreign = {"metadata": {"name": WORKLOAD, "namespace": T.host_namespace, "labels": {}}}
    fake = Fake(host_live=[foreign])
    await WorkloadAccount(name=WORKLOAD).ensure(fake.ctx)
    assert fake.calls == [("host", "get", WORKLOAD)]


async def test_a_create_race_counts_as_existing() -> None:
    """Missing at the GET, there at the create: used as it is."""
    fake = Fake()
    fake.recorder.fail[("host", "create")] = AlreadyExists(status=409, reason="AlreadyExists")
    await WorkloadAccount(name=WORKLOAD).ensure(fake.ctx)
    assert fake.calls == [("host", "get", WORKLOAD)]


async def test_missing_and_not_creatable_refuses_the_pod_and_retries() -> None:
    """A 403 on the create: the pod is refused (Warning event, metric) with a growing
    retry, nothing else is written, and the next attempt asks again."""
    fake = Fake(host={"pods": []})
    fake.recorder.fail[("host", "create", WORKLOAD)] = Forbidden(
        status=403, reason="Forbidden", message="cannot create serviceaccounts"
    )
    mapper = make(translator=T)
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, POD)
    refusal = caught.value
    assert refusal.reason == "workload_service_account"
    assert refusal.event_reason == "SyncError"
    assert (refusal.retry_after, refusal.retry_max) == (RETRY_SECONDS, RETRY_MAX_SECONDS)
    assert f"{T.host_namespace}/{WORKLOAD}" in refusal.message
    assert "cannot create serviceaccounts" in refusal.message
    assert pod_created(fake) == []
    del fake.recorder.fail[("host", "create", WORKLOAD)]
    await mapper.sync_to_host(fake.ctx, POD)
    assert [o["kind"] for o in fake.host.created] == ["ServiceAccount", "Pod"]


async def test_a_server_error_is_left_to_the_engine_s_backoff() -> None:
    """Not a refusal: raised as it is."""
    fake = Fake()
    fake.recorder.fail[("host", "create")] = ServerError(status=500, reason="InternalError")
    with pytest.raises(ServerError):
        await WorkloadAccount(name=WORKLOAD).ensure(fake.ctx)


async def test_a_pod_rejected_because_the_account_went_makes_it_again_at_the_retry() -> None:
    """The ServiceAccount admission's rejection: the account is forgotten, the pod refused
    with a short retry; the next attempt GETs and makes the account, then the pod."""
    fake = Fake(host={"pods": []})
    mapper = make(translator=T)
    await mapper.sync_to_host(fake.ctx, POD)  # account made, pod made
    gone = f"error looking up service account {T.host_namespace}/{WORKLOAD}: not found"
    fake.recorder.fail[("host", "create")] = Forbidden(status=403, reason="Forbidden", message=gone)
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, POD)
    assert caught.value.reason == "workload_service_account"
    assert caught.value.retry_after == RETRY_SECONDS
    del fake.recorder.fail[("host", "create")]
    before = len(fake.calls)
    await mapper.sync_to_host(fake.ctx, POD)
    assert [c[:2] for c in fake.calls[before:]][:2] == [("host", "get"), ("host", "create")]
    assert fake.calls[before + 1][2] == WORKLOAD


async def test_other_rejections_are_left_as_they_are() -> None:
    """An admission policy's 403 about something else stays host_rejected."""
    fake = Fake(host={"pods": []})
    fake.recorder.fail[("host", "create", T.host_name("shop", "web"))] = Forbidden(
        status=403, reason="Forbidden", message="denied by policy"
    )
    with pytest.raises(Refused) as caught:
        await make(translator=T).sync_to_host(fake.ctx, POD)
    assert caught.value.reason == "host_rejected"
