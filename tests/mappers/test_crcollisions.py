"""Name patches of toHost custom resources never point at another virtual namespace's object
through a colliding host name (``c/a-x-b`` and ``b-x-c/a`` share one)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.collisions import PARTNER_RETRY, is_ambiguous
from mappers.crcollisions import ambiguous_rewrite
from mappers.crpatches import apply_patches
from mappers.customresources import ToHostCustomResource, make
from syncer.api import SECRETS, CustomResource, FieldPatch, MapperConfig, Refused, Resource
from syncer.kit.testing import TRANSLATOR, FakeContext, host_copy

WIDGETS = Resource("example.com", "v1", "widgets", "Widget")
TARGET = FieldPatch(path="spec.target", type="rewriteName")
SECRET_REF = FieldPatch(path="spec.secretRef.name", type="reference", kind="secrets")
CUSTOM = CustomResource(WIDGETS, "toHost", patches=(TARGET, SECRET_REF))
CONFIG = MapperConfig(kinds=("secrets", WIDGETS.qualified), custom_resources=(CUSTOM,))


def widget(*, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": WIDGETS.api_version,
        "kind": WIDGETS.kind,
        "metadata": {"name": "w", "namespace": namespace, "uid": "w-uid"},
        "spec": spec,
    }


def secret(name: str, *, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
    }


def test_an_ambiguous_rewrite_name_is_refused_until_the_object_changes() -> None:
    """'a-x-b' in c could be b-x-c's 'a' on the host: refused, naming the field; 'a' passes."""
    body = {"spec": {"target": "a-x-b"}}
    with pytest.raises(Refused) as caught:
        apply_patches(body, (TARGET,), namespace="c", translator=TRANSLATOR)
    assert (caught.value.reason, caught.value.retry_after) == ("reference_collision", None)
    assert caught.value.message.startswith("spec.target: the host name of 'a-x-b'")
    out = apply_patches({"spec": {"target": "a"}}, (TARGET,), namespace="c", translator=TRANSLATOR)
    assert out["spec"]["target"] == TRANSLATOR.host_name("c", "a")


def test_a_long_name_is_hashed_and_so_ambiguous() -> None:
    """A hashed host name could be another object's (40 bits): refused too."""
    assert ambiguous_rewrite(TRANSLATOR, namespace="c", name="n" * 70, path="p") is not None


_PART = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?", fullmatch=True)


@given(namespace=_PART, name=_PART)
def test_a_rewritten_name_is_never_one_another_object_could_have(namespace: str, name: str) -> None:
    """rewriteName refuses exactly the names another (namespace, name) could share on the
    host, and gives every other name its own host name."""
    body = {"spec": {"target": name}}
    if is_ambiguous(TRANSLATOR, namespace, name):
        with pytest.raises(Refused) as caught:
            apply_patches(body, (TARGET,), namespace=namespace, translator=TRANSLATOR)
        assert caught.value.reason == "reference_collision"
        return
    out = apply_patches(body, (TARGET,), namespace=namespace, translator=TRANSLATOR)
    assert out["spec"]["target"] == TRANSLATOR.host_name(namespace, name)


def _mapper() -> ToHostCustomResource:
    mapper = make(translator=TRANSLATOR, custom=CUSTOM, config=CONFIG)
    assert isinstance(mapper, ToHostCustomResource)
    return mapper


async def test_a_reference_held_by_the_partners_copy_is_refused() -> None:
    """c's widget names secret 'a-x-b'; the host name is held by b-x-c's 'a' copy: refused
    (reference_collision, retried), nothing written; once c's own copy holds it, created."""
    v_obj = widget(namespace="c", secretRef={"name": "a-x-b"})
    partner = host_copy(SECRETS, namespace="b-x-c", name="a")
    fake = FakeContext(
        virtual={"widgets": [v_obj], "secrets": [secret("a-x-b", namespace="c")]},
        host={"secrets": [partner]},
        enabled=[WIDGETS, SECRETS],
    )
    mapper = fake.bind(_mapper())
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, v_obj)
    assert (caught.value.reason, caught.value.retry_after) == ("reference_collision", PARTNER_RETRY)
    assert caught.value.message.startswith("spec.secretRef.name: host secret ")
    assert fake.calls == []
    fake.host_caches["secrets"].put(host_copy(SECRETS, namespace="c", name="a-x-b"))
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert fake.calls == [("host", "create", TRANSLATOR.host_name("c", "w"))]
