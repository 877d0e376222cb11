"""The owner anchor and the owner references the host writer puts on what it writes."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.clock import FakeClock
from syncer.errors import Forbidden, NotFound
from syncer.hostwriter import HostWriter
from syncer.kit.metadata import host_metadata
from syncer.owneranchor import (
    REFRESH_SECONDS,
    RETRY_SECONDS,
    AnchorMissing,
    OwnerAnchor,
    owner_reference,
)
from syncer.resources import CONFIGMAPS, NODES, SERVICES, Resource
from syncer.translate import OWNER_REFERENCES_ANNOTATION, Translator

T = Translator(vcluster="dev", host_namespace="vcluster-dev")
SETTING = "VSYNCER_OWNER_ANCHOR"
ANCHOR = owner_reference(name="dev", uid="anchor-uid")


class Services:
    """Stands in for the host client's GET; ``uid`` None: the Service is not there."""

    def __init__(self, *, uid: str | None = "anchor-uid", error: Exception | None = None) -> None:
        self.uid = uid
        self.error = error
        self.gets: list[tuple[str, str | None, str]] = []
        self.gate: asyncio.Event | None = None

    async def get(self, resource: Resource, *, namespace: str | None, name: str) -> Any:
        self.gets.append((resource.plural, namespace, name))
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        if self.uid is None:
            raise NotFound(status=404, reason="NotFound", message="services not found")
        return {"metadata": {"name": name, "namespace": namespace, "uid": self.uid}}


class Writes:
    """Records the bodies that reach the host client."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, Any]] = []

    async def create(self, resource: Resource, *, namespace: str | None, body: Any) -> Any:
        self.bodies.append(("create", body))
        return body

    async def update(
        self, resource: Resource, *, namespace: str | None, name: str, body: Any
    ) -> Any:
        self.bodies.append(("update", body))
        return body


def _anchor(services: Services, clock: FakeClock | None = None) -> OwnerAnchor:
    return OwnerAnchor(
        client=services, namespace="vcluster-dev", name="dev", setting=SETTING, clock=clock
    )


def _writer(services: Services | None) -> tuple[HostWriter, Writes]:
    writes = Writes()
    anchor = _anchor(services) if services is not None else None
    return HostWriter(client=writes, translator=T, anchor=anchor), writes  # type: ignore[arg-type]


def _copy(resource: Resource = CONFIGMAPS, **meta: Any) -> dict[str, Any]:
    v_obj = {"metadata": {"name": "web", "namespace": "shop", "uid": "v-1"}}
    metadata = host_metadata(translator=T, resource=resource, v_obj=v_obj)
    metadata.update(meta)
    return {"apiVersion": "v1", "kind": resource.kind, "metadata": metadata}


def _owners(body: Any) -> Any:
    return body["metadata"].get("ownerReferences")


async def test_the_reference_names_the_service_and_controls_nothing() -> None:
    """apiVersion v1, kind Service, name, uid; controller and blockOwnerDeletion false."""
    services = Services()
    assert await _anchor(services).reference() == {
        "apiVersion": "v1",
        "kind": "Service",
        "name": "dev",
        "uid": "anchor-uid",
        "controller": False,
        "blockOwnerDeletion": False,
    }
    assert services.gets == [("services", "vcluster-dev", "dev")]


async def test_read_once_by_one_request_for_concurrent_writers() -> None:
    """Twenty writers waiting for the anchor cause one GET; later writers none."""
    services = Services()
    services.gate = asyncio.Event()
    anchor = _anchor(services)
    waiting = [asyncio.ensure_future(anchor.reference()) for _ in range(20)]
    await asyncio.sleep(0)
    services.gate.set()
    assert all(ref["uid"] == "anchor-uid" for ref in await asyncio.gather(*waiting))
    await anchor.reference()
    assert len(services.gets) == 1


async def test_missing_anchor_names_the_setting_and_is_looked_up_again_later() -> None:
    """NotFound: AnchorMissing naming the setting; no new GET before RETRY_SECONDS pass."""
    clock = FakeClock()
    services = Services(uid=None)
    anchor = _anchor(services, clock)
    with pytest.raises(AnchorMissing, match=f"^{SETTING}: host Service vcluster-dev/dev not found"):
        await anchor.reference()
    with pytest.raises(AnchorMissing):
        await anchor.reference()
    assert len(services.gets) == 1
    services.uid = "late-uid"
    clock.advance(1.0)
    assert (await anchor.reference())["uid"] == "late-uid"
    assert len(services.gets) == 2


async def test_an_unreadable_anchor_is_missing() -> None:
    """A forbidden GET is reported as the anchor missing, with the server's answer."""
    anchor = _anchor(
        Services(error=Forbidden(status=403, reason="Forbidden", message="services is forbidden"))
    )
    with pytest.raises(AnchorMissing, match="cannot read host Service vcluster-dev/dev"):
        await anchor.reference()


async def test_created_objects_are_owned_by_the_anchor() -> None:
    """A namespaced create carries exactly the anchor's reference; the body is not changed."""
    writer, writes = _writer(Services())
    body = _copy()
    await writer.create(CONFIGMAPS, body=body)
    assert _owners(writes.bodies[0][1]) == [ANCHOR]
    assert "ownerReferences" not in body["metadata"]


async def test_a_mappers_own_owner_is_kept() -> None:
    """A body that names its host owner (a token Secret its pod) gets no anchor on top,
    so the garbage collector removes it with that owner."""
    pod_owner = {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "pod-uid"}
    writer, writes = _writer(Services())
    await writer.create(CONFIGMAPS, body=_copy(ownerReferences=[pod_owner]))
    assert _owners(writes.bodies[0][1]) == [pod_owner]


async def test_create_waits_for_a_missing_anchor() -> None:
    """No anchor: the create fails with AnchorMissing and nothing reaches the host."""
    writer, writes = _writer(Services(uid=None))
    with pytest.raises(AnchorMissing):
        await writer.create(CONFIGMAPS, body=_copy())
    assert writes.bodies == []


class OwnsAll:
    """A translator that calls every object ours (the ownership rule is tested elsewhere)."""

    host_namespace = "vcluster-dev"

    def is_owned(self, obj: Any, *, kind_string: str) -> bool:
        return True


async def test_cluster_scoped_objects_get_no_owner() -> None:
    """A namespaced anchor cannot own a cluster-scoped object: no reference, no GET."""
    services, writes = Services(), Writes()
    writer = HostWriter(client=writes, translator=OwnsAll(), anchor=_anchor(services))  # type: ignore[arg-type]
    await writer.create(NODES, body={"metadata": {"name": "n1"}})
    assert _owners(writes.bodies[0][1]) is None
    assert services.gets == []


async def test_without_anchor_nothing_is_added() -> None:
    """VSYNCER_SET_OWNER=false: bodies go as they are."""
    writer, writes = _writer(None)
    await writer.create(CONFIGMAPS, body=_copy())
    assert _owners(writes.bodies[0][1]) is None


async def test_update_adopts_an_object_made_before_the_anchor() -> None:
    """An object with no owner gets the anchor's reference on its next update."""
    writer, writes = _writer(Services())
    current = _copy(uid="u-1")
    await writer.update(CONFIGMAPS, current=current, body=copy.deepcopy(current))
    assert _owners(writes.bodies[0][1]) == [ANCHOR]


async def test_update_keeps_the_host_objects_owners() -> None:
    """A body without ownerReferences keeps the current object's (the host decides them)."""
    other = owner_reference(name="dev", uid="earlier-anchor")
    writer, writes = _writer(Services())
    current = _copy(uid="u-1", ownerReferences=[other])
    body = copy.deepcopy(current)
    del body["metadata"]["ownerReferences"]
    await writer.update(CONFIGMAPS, current=current, body=body)
    assert _owners(writes.bodies[0][1]) == [other]


async def test_update_does_not_wait_for_a_missing_anchor() -> None:
    """Adoption is best effort: without the anchor the update goes through unowned."""
    writer, writes = _writer(Services(uid=None))
    current = _copy(uid="u-1")
    await writer.update(CONFIGMAPS, current=current, body=copy.deepcopy(current))
    assert _owners(writes.bodies[0][1]) is None


_keys = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=10)


@given(
    owners=st.lists(
        st.fixed_dictionaries({"apiVersion": _keys, "kind": _keys, "name": _keys, "uid": _keys}),
        min_size=1,
        max_size=3,
    ),
    resource=st.sampled_from([CONFIGMAPS, SERVICES]),
)
def test_virtual_owners_never_reach_host_metadata(
    owners: list[dict[str, str]], resource: Resource
) -> None:
    """Whatever ownerReferences a tenant's object has, its host metadata has none."""
    v_obj = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "v-1", "ownerReferences": owners}
    }
    assert "ownerReferences" not in host_metadata(translator=T, resource=resource, v_obj=v_obj)


async def test_wait_looks_again_with_a_doubling_delay_until_the_anchor_exists() -> None:
    """Missing: looked for after 1 s, then 2 s; once there, wait returns with it known."""
    clock = FakeClock()
    services = Services(uid=None)
    anchor = _anchor(services, clock)
    waiting = asyncio.ensure_future(anchor.wait())
    await clock.wait_for_sleepers()
    assert (len(services.gets), clock.next_deadline()) == (1, 1.0)
    clock.advance(1.0)
    await clock.wait_for_sleepers()
    assert (len(services.gets), clock.next_deadline()) == (2, 3.0)
    services.uid = "late-uid"
    clock.advance(2.0)
    await asyncio.wait_for(waiting, 5)
    assert anchor.known is not None
    assert anchor.known["uid"] == "late-uid"


@pytest.mark.parametrize(
    ("virtual_owners", "controller"),
    [
        (None, False),
        ('[{"kind":"ReplicaSet","name":"web-1","controller":true}]', True),
        ('[{"kind":"ConfigMap","name":"x"}]', False),
        ('[{"kind":"ReplicaSet","controller":"yes"}]', False),
        ("not json", False),
    ],
)
async def test_controller_follows_the_virtual_objects_controller(
    virtual_owners: str | None, controller: bool
) -> None:
    """vcluster's rule: the anchor reference is ``controller`` exactly when the virtual
    object (its owners kept in the owner-references annotation) had a controlling owner."""
    writer, writes = _writer(Services())
    body = _copy()
    if virtual_owners is not None:
        body["metadata"]["annotations"][OWNER_REFERENCES_ANNOTATION] = virtual_owners
    await writer.create(CONFIGMAPS, body=body)
    assert _owners(writes.bodies[0][1]) == [{**ANCHOR, "controller": controller}]


async def test_a_re_created_anchor_is_followed_after_the_refresh_age() -> None:
    """Within REFRESH_SECONDS no GET; after it one GET, and the new uid from then on, so
    objects created later are not owned by the deleted Service (which the host's garbage
    collector would take for a dead owner, again and again)."""
    clock = FakeClock()
    services = Services(uid="first")
    anchor = _anchor(services, clock)
    assert (await anchor.reference())["uid"] == "first"
    services.uid = "second"
    clock.advance(REFRESH_SECONDS - 0.5)
    assert (await anchor.reference())["uid"] == "first"
    assert len(services.gets) == 1
    clock.advance(0.5)
    waiting = [asyncio.ensure_future(anchor.reference()) for _ in range(10)]
    assert {ref["uid"] for ref in await asyncio.gather(*waiting)} == {"second"}
    assert len(services.gets) == 2
    assert anchor.known is not None
    assert anchor.known["uid"] == "second"


async def test_a_deleted_anchor_makes_creates_wait_again() -> None:
    """Found gone on a re-read (an uninstall): creates raise AnchorMissing and send nothing,
    so vsyncer does not re-create what the garbage collector is deleting; once the Service is
    back its uid is used."""
    clock = FakeClock()
    services, writes = Services(uid="first"), Writes()
    anchor = _anchor(services, clock)
    writer = HostWriter(client=writes, translator=T, anchor=anchor)  # type: ignore[arg-type]
    await writer.create(CONFIGMAPS, body=_copy())
    services.uid = None
    clock.advance(REFRESH_SECONDS)
    with pytest.raises(AnchorMissing, match="not found"):
        await writer.create(CONFIGMAPS, body=_copy())
    assert anchor.known is None
    assert len(writes.bodies) == 1
    services.uid = "third"
    clock.advance(RETRY_SECONDS)
    await writer.create(CONFIGMAPS, body=_copy())
    assert [_owners(body)[0]["uid"] for _, body in writes.bodies] == ["first", "third"]


async def test_a_failed_re_read_keeps_the_known_uid() -> None:
    """A 403 or 500 on the re-read says nothing about the Service: the known reference
    stays, and it is looked at again after RETRY_SECONDS (not on every write)."""
    clock = FakeClock()
    services = Services(uid="first")
    anchor = _anchor(services, clock)
    await anchor.reference()
    services.error = Forbidden(status=403, reason="Forbidden", message="services is forbidden")
    clock.advance(REFRESH_SECONDS)
    assert (await anchor.reference())["uid"] == "first"
    assert (await anchor.reference())["uid"] == "first"
    assert len(services.gets) == 2
    services.error, services.uid = None, "second"
    clock.advance(RETRY_SECONDS)
    assert (await anchor.reference())["uid"] == "second"
    assert len(services.gets) == 3
