"""The guarded host writer refuses anything outside the host namespace or not ours."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.errors import HostWriteRefused, TooManyRequests
from syncer.hostwriter import HostWriter, NotLeader
from syncer.inflight import AdaptiveLimit
from syncer.resources import CONFIGMAPS
from syncer.translate import Translator

T = Translator(vcluster="dev", host_namespace="vcluster-dev")


class Recording:
    """Stands in for the host client; records writes that got through."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def create(self, resource: Any, *, namespace: str | None, body: Any) -> dict[str, Any]:
        self.calls.append(("create", namespace))
        return dict(body)

    async def delete(
        self, resource: Any, *, namespace: str | None, name: str, **kw: Any
    ) -> dict[str, Any]:
        self.calls.append(("delete", namespace))
        return {}


class Refusals:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def refused(self, *, kind: str, reason: str) -> None:
        self.reasons.append(reason)


def _ours(namespace: str = "shop", name: str = "web") -> dict[str, Any]:
    host_name = T.host_name(namespace, name)
    return {
        "metadata": {
            "name": host_name,
            "namespace": T.host_namespace,
            "uid": "u-1",
            "labels": T.translate_labels({}, namespace=namespace),
            "annotations": T.provenance_annotations(
                kind_string=CONFIGMAPS.kind_string,
                namespace=namespace,
                name=name,
                uid="v-1",
                host_name=host_name,
            ),
        }
    }


def _writer(*, leading: bool = True) -> tuple[HostWriter, Recording, Refusals]:
    client, refusals = Recording(), Refusals()
    writer = HostWriter(client=client, translator=T, may_write=lambda: leading, metrics=refusals)  # type: ignore[arg-type]
    return writer, client, refusals


async def test_creates_and_deletes_owned_objects() -> None:
    """A fully translated object in the host namespace goes through."""
    writer, client, refusals = _writer()
    await writer.create(CONFIGMAPS, body=_ours())
    await writer.delete(CONFIGMAPS, current=_ours())
    assert client.calls == [("create", "vcluster-dev"), ("delete", "vcluster-dev")]
    assert refusals.reasons == []


async def test_refuses_other_namespaces() -> None:
    """An object outside the host namespace is refused and counted."""
    writer, client, refusals = _writer()
    body = _ours()
    body["metadata"]["namespace"] = "kube-system"
    with pytest.raises(HostWriteRefused):
        await writer.create(CONFIGMAPS, body=body)
    assert client.calls == []
    assert refusals.reasons == ["namespace"]


@pytest.mark.parametrize("spoof", ["name", "vcluster", "kind", "unlabelled"])
async def test_refuses_objects_that_are_not_ours(spoof: str) -> None:
    """Spoofed provenance (wrong name, vcluster, kind, or no marker) is refused."""
    writer, client, refusals = _writer()
    obj = _ours()
    meta = obj["metadata"]
    if spoof == "name":
        meta["name"] = "database"
    elif spoof == "vcluster":
        meta["labels"]["vcluster.loft.sh/managed-by"] = "other"
    elif spoof == "kind":
        meta["annotations"]["vcluster.loft.sh/object-kind"] = "/v1, Kind=Secret"
    else:
        meta["labels"] = {}
    with pytest.raises(HostWriteRefused):
        await writer.delete(CONFIGMAPS, current=obj)
    assert client.calls == []
    assert refusals.reasons == ["not_owned"]


async def test_refuses_when_not_leader() -> None:
    """Without the lease nothing is written."""
    writer, client, refusals = _writer(leading=False)
    with pytest.raises(NotLeader):
        await writer.create(CONFIGMAPS, body=_ours())
    assert client.calls == []
    assert refusals.reasons == ["not_leader"]


class Overloaded(Recording):
    """A host that answers every create with 429."""

    async def create(self, resource: Any, *, namespace: str | None, body: Any) -> dict[str, Any]:
        raise TooManyRequests(status=429, reason="TooManyRequests", message="try again later")


async def test_writes_hold_a_slot_of_the_limit_and_429_shrinks_it() -> None:
    """Each write holds a slot while in flight; a 429 halves the limit; the slot comes back."""
    limit = AdaptiveLimit(initial=8, maximum=8)
    writer = HostWriter(client=Recording(), translator=T, limit=limit)  # type: ignore[arg-type]
    await writer.create(CONFIGMAPS, body=_ours())
    await writer.delete(CONFIGMAPS, current=_ours())
    assert (limit.in_flight, limit.limit) == (0, 8)
    refused = HostWriter(client=Overloaded(), translator=T, limit=limit)  # type: ignore[arg-type]
    with pytest.raises(TooManyRequests):
        await refused.create(CONFIGMAPS, body=_ours())
    assert (limit.in_flight, limit.limit) == (0, 4)
