"""CopySyncer: an "already exists" that is our own lost create carries on; drift as sync sees it."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.api import CONFIGMAPS, DONE, AlreadyExists, ObjectKey, thaw
from syncer.kit import CACHE_LAG_RETRY, CopySyncer, create_on_host
from tests.mappers.fakes import Fake, T, foreign, host_copy

Json = dict[str, Any]


class Copies(CopySyncer):
    synced_fields = ("data",)

    def __init__(self) -> None:
        super().__init__(resource=CONFIGMAPS, translator=T)


def v_cm(name: str = "app", *, uid: str = "v-uid", **data: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"namespace": "shop", "name": name, "uid": uid, "labels": {"tier": "web"}},
        "data": data or {"k": "1"},
    }


def taken(fake: Fake) -> None:
    """Every create on the host answers 409 AlreadyExists."""
    fake.recorder.fail[("host", "create")] = AlreadyExists(status=409, reason="AlreadyExists")


async def test_a_create_whose_response_was_lost_returns_our_existing_copy() -> None:
    """Live read: managed, re-translates to this key, same object-uid → it is the created one."""
    mapper = Copies()
    v_obj = v_cm()
    ours = mapper.desired_host(Fake().ctx, v_obj, None)
    assert ours is not None
    ours["metadata"]["uid"] = "p-1"
    fake = Fake(host_live=[ours])
    taken(fake)
    created = await create_on_host(fake.ctx, CONFIGMAPS, v_obj=v_obj, body=thaw(ours))
    assert created is not None
    assert created["metadata"]["uid"] == "p-1"
    assert fake.calls == [("host", "get", T.host_name("shop", "app"))]
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    assert fake.events == []


@pytest.mark.parametrize(
    "in_the_way",
    [
        host_copy(CONFIGMAPS, namespace="shop", name="app", uid="an-earlier-object"),
        foreign(CONFIGMAPS, name=T.host_name("shop", "app")),
    ],
    ids=["copy-of-an-earlier-object-of-this-name", "foreign"],
)
async def test_already_exists_for_anything_else_propagates_to_the_engine(in_the_way: Json) -> None:
    fake = Fake(host_live=[in_the_way])
    taken(fake)
    with pytest.raises(AlreadyExists):
        await Copies().sync_to_host(fake.ctx, v_cm())
    assert fake.events == []


async def test_our_recent_create_not_yet_readable_is_looked_at_again() -> None:
    """Nothing readable yet, but we created it a moment ago: the host cache lags, retry soon."""
    mapper, fake = Copies(), Fake()
    assert await mapper.sync_to_host(fake.ctx, v_cm()) == DONE
    taken(fake)
    assert await mapper.sync_to_host(fake.ctx, v_cm()) == CACHE_LAG_RETRY
    with pytest.raises(AlreadyExists):  # another key, never created by us
        await mapper.sync_to_host(fake.ctx, v_cm("other"))


# -- drift --------------------------------------------------------------------------------


def synced(mapper: Copies, v_obj: Json) -> Json:
    """The host copy sync would leave, with the fields only the server sets."""
    body = mapper.desired_host(Fake().ctx, v_obj, None)
    assert body is not None
    body["metadata"].update(
        uid="p-1", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z"
    )
    body["metadata"]["managedFields"] = [{"manager": "someone"}]
    return body


def edited(obj: Json, path: tuple[str, ...], value: Any) -> Json:
    copy = thaw(obj)
    target = copy
    for step in path[:-1]:
        target = target.setdefault(step, {})
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (None, None),
        ((("data",), {"k": "changed behind our back"}), "data"),
        ((("metadata", "labels"), {}), "metadata.labels"),
        ((("metadata", "annotations", "vcluster.loft.sh/object-uid"), "older"), "metadata"),
        ((("metadata", "resourceVersion"), "99"), None),
        ((("status",), {"server": "set"}), None),
    ],
    ids=["equal", "data", "labels", "copy-of-an-earlier-object", "resource-version", "status"],
)
def test_drift_names_what_sync_would_change(
    change: tuple[tuple[str, ...], Any] | None, expected: str | None
) -> None:
    mapper, v_obj = Copies(), v_cm()
    p_obj = synced(mapper, v_obj)
    if change is not None:
        p_obj = edited(p_obj, *change)
    assert mapper.drift(Fake().ctx, v_obj, p_obj) == expected


def test_drift_missing_not_wanted_and_terminating() -> None:
    mapper, v_obj = Copies(), v_cm()
    ctx = Fake().ctx
    assert mapper.drift(ctx, v_obj, None) == "missing"
    p_obj = synced(mapper, v_obj)
    dying = edited(v_obj, ("metadata", "deletionTimestamp"), "2026-01-01T00:00:00Z")
    assert mapper.drift(ctx, dying, None) is None
    assert mapper.drift(ctx, dying, p_obj) is None
    assert mapper.drift(ctx, v_obj, edited(p_obj, ("metadata", "deletionTimestamp"), "x")) is None

    class NotWanted(Copies):
        def desired_host(self, ctx: Any, v_obj: Any, p_obj: Any) -> Json | None:
            return None

    assert NotWanted().drift(ctx, v_obj, None) is None
    assert NotWanted().drift(ctx, v_obj, p_obj) == "metadata"


async def test_no_drift_after_sync_repairs_it() -> None:
    """drift() and sync() agree: what drift reports, one sync removes."""
    mapper, v_obj = Copies(), v_cm()
    p_obj = edited(synced(mapper, v_obj), ("data",), {"k": "tampered"})
    fake = Fake(host={"configmaps": [p_obj]})
    assert mapper.drift(fake.ctx, v_obj, p_obj) == "data"
    assert await mapper.sync(fake.ctx, v_obj, p_obj) == DONE
    assert mapper.drift(fake.ctx, v_obj, fake.host.updated[-1]) is None
    assert ObjectKey("configmaps", "shop", "app") == mapper.host_to_virtual(fake.host.updated[-1])
