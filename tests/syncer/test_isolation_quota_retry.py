"""A create the host's quota rejects: ``quota_exceeded``, retried sooner and sooner-capped."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.api import (
    CONFIGMAPS,
    DONE,
    Forbidden,
    Invalid,
    Refused,
    SyncContext,
)
from syncer.kit import HOST_REJECTED_RETRY, CopySyncer, create_on_host
from syncer.kit.copysync import QUOTA_RETRY, QUOTA_RETRY_MAXIMUM
from syncer.reconcile import Result
from syncer.store import Obj
from syncer.sync import KindSync
from tests.mappers.fakes import Fake, T
from tests.syncer.syncstubs import WEB, Metrics, PodSyncer, Recorder, StubInformer, stub_kind_sync

EXCEEDED = (
    'pods "web-x-shop-x-vc" is forbidden: exceeded quota: vc-vc, requested: count/pods=1, '
    "used: count/pods=1, limited: count/pods=1"
)
UNKNOWN = 'pods "web-x-shop-x-vc" is forbidden: status unknown for quota: vc-vc, resources: pods'
UNSPECIFIED = 'pods "web-x-shop-x-vc" is forbidden: failed quota: vc-vc: must specify limits.cpu'


def v_cm() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"namespace": "shop", "name": "app", "uid": "v-uid"},
        "data": {"k": "1"},
    }


class Copies(CopySyncer):
    synced_fields = ("data",)

    def __init__(self) -> None:
        super().__init__(resource=CONFIGMAPS, translator=T)


async def create(fake: Fake) -> None:
    body = Copies().desired_host(fake.ctx, v_cm(), None)
    assert body is not None
    await create_on_host(fake.ctx, CONFIGMAPS, v_obj=v_cm(), body=body)


@pytest.mark.parametrize("message", [EXCEEDED, UNKNOWN, UNSPECIFIED])
async def test_a_quota_rejection_is_quota_exceeded_with_a_short_growing_retry(
    message: str,
) -> None:
    fake = Fake()
    fake.recorder.fail[("host", "create")] = Forbidden(status=403, message=message)
    with pytest.raises(Refused) as refused:
        await create(fake)
    assert refused.value.reason == "quota_exceeded"
    assert refused.value.event_reason == "SyncError"
    assert (refused.value.retry_after, refused.value.retry_max) == (
        QUOTA_RETRY,
        QUOTA_RETRY_MAXIMUM,
    )
    assert message in refused.value.message
    assert "rejected this ConfigMap" in refused.value.message


@pytest.mark.parametrize(
    "error",
    [Forbidden(status=403, message="denied by policy"), Invalid(status=422, message="bad")],
)
async def test_other_rejections_stay_host_rejected(error: Exception) -> None:
    fake = Fake()
    fake.recorder.fail[("host", "create")] = error
    with pytest.raises(Refused) as refused:
        await create(fake)
    assert refused.value.reason == "host_rejected"
    assert refused.value.retry_after == HOST_REJECTED_RETRY
    assert refused.value.retry_max is None


class QuotaFull(PodSyncer):
    """Refused as a full quota while ``full``; created otherwise."""

    def __init__(self) -> None:
        super().__init__(skip=False)
        self.full = True

    async def sync_to_host(self, ctx: SyncContext, v_obj: Obj) -> Result:
        if self.full:
            raise Refused(
                reason="quota_exceeded",
                message=EXCEEDED,
                retry_after=1.0,
                retry_max=8.0,
                event_reason="SyncError",
            )
        return DONE


def kind_sync() -> tuple[KindSync, StubInformer, QuotaFull, Recorder, Metrics]:
    mapper = QuotaFull()
    sync, virtual, recorder, metrics = stub_kind_sync(mapper)
    virtual.objects[("shop", "web")] = {"metadata": {"namespace": "shop", "name": "web"}}
    return sync, virtual, mapper, recorder, metrics


async def test_the_retry_doubles_up_to_the_cap_with_one_event_and_resets_on_success() -> None:
    """Never dropped, never a hot loop: 1, 2, 4, 8, 8 s; one Warning; a success starts over."""
    sync, _virtual, mapper, recorder, metrics = kind_sync()
    delays = [(await sync.reconcile(WEB)).requeue_after for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert metrics.refused == [("pods", "quota_exceeded")] * 5
    assert len(recorder.events) == 1
    assert recorder.events[0][2].startswith("SyncError: ")
    mapper.full = False
    assert await sync.reconcile(WEB) == DONE
    mapper.full = True
    assert (await sync.reconcile(WEB)).requeue_after == 1.0
