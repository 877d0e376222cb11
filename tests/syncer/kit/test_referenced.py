"""ReferencedCopySyncer with a made-up referrer kind: copied while referenced, deleted after."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from syncer.api import DONE, Obj, ObjectKey, Refused, Resource, SyncContext
from syncer.kit import ReferencedCopySyncer, index_value, items
from syncer.kit.testing import TRANSLATOR, FakeContext, host_copy

Json = dict[str, Any]
GADGETS = Resource("example.com", "v1", "gadgets", "Gadget")
SPROCKETS = Resource("example.com", "v1", "sprockets", "Sprocket")
INDEX = "gadget-sprockets"


class Sprockets(ReferencedCopySyncer):
    """Sprockets live on the host while a gadget of their namespace names them in ``spec.uses``."""

    referrer = GADGETS
    index = INDEX
    synced_fields = ("spec",)

    def __init__(self, *, refuse: bool = False) -> None:
        super().__init__(resource=SPROCKETS, translator=TRANSLATOR)
        self.refuse = refuse

    def referenced_names(self, referrer: Obj) -> Iterable[str]:
        return [str(n) for n in items((referrer.get("spec") or {}).get("uses"))]

    def refusal(self, ctx: SyncContext, v_obj: Obj) -> Refused | None:
        return Refused(reason="test", message="no") if self.refuse else None


def gadget(*uses: str) -> Json:
    return {"metadata": {"namespace": "shop", "name": "g"}, "spec": {"uses": list(uses)}}


def sprocket(name: str = "s") -> Json:
    return {"metadata": {"namespace": "shop", "name": name, "uid": "v-uid"}, "spec": {"n": 1}}


def fake(*gadgets: Json, enabled: tuple[Resource, ...] = (GADGETS, SPROCKETS)) -> FakeContext:
    ctx = FakeContext(
        virtual={"gadgets": list(gadgets), "sprockets": [sprocket()]}, enabled=enabled
    )
    mapper = Sprockets()
    ctx.virtual_caches["gadgets"].indexes[INDEX] = lambda g: [
        index_value("shop", n) for n in mapper.referenced_names(g)
    ]
    return ctx


async def test_a_referenced_object_is_copied_and_an_unreferenced_one_is_not() -> None:
    mapper = Sprockets()
    used = fake(gadget("s"))
    assert await used.bind(mapper).sync_to_host(used.ctx, sprocket()) == DONE
    assert used.calls == [("host", "create", TRANSLATOR.host_name("shop", "s"))]
    assert used.host.created[0]["spec"] == {"n": 1}
    unused = fake(gadget("other"))
    assert await unused.bind(mapper).sync_to_host(unused.ctx, sprocket()) == DONE
    assert unused.calls == []


async def test_the_last_reference_gone_deletes_the_host_copy() -> None:
    mapper = Sprockets()
    p_obj = host_copy(SPROCKETS, namespace="shop", name="s")
    ctx = fake()
    assert await ctx.bind(mapper).sync(ctx.ctx, sprocket(), p_obj) == DONE
    assert ctx.calls == [("host", "delete(grace=None)", p_obj["metadata"]["name"])]
    later = fake()
    assert later.bind(mapper).drift(later.ctx, sprocket(), p_obj) == "metadata"


async def test_without_the_referrer_index_nothing_is_referenced() -> None:
    ctx = FakeContext(virtual={"sprockets": [sprocket()]})
    assert await ctx.bind(Sprockets()).sync_to_host(ctx.ctx, sprocket()) == DONE
    assert ctx.calls == []


async def test_a_refusal_stops_the_create() -> None:
    ctx = fake(gadget("s"))
    with pytest.raises(Refused):
        await ctx.bind(Sprockets(refuse=True)).sync_to_host(ctx.ctx, sprocket())
    assert ctx.calls == []


def test_the_referrer_is_watched_for_the_keys_it_names() -> None:
    mapper = Sprockets()
    (watch,) = mapper.watches().items()
    assert watch[0] == GADGETS
    assert list(watch[1](gadget("b", "a"))) == [
        ObjectKey("sprockets", "shop", "a"),
        ObjectKey("sprockets", "shop", "b"),
    ]
