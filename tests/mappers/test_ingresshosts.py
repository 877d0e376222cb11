"""Ingress host names and classes: confined by the settings, passed through without them."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappers.ingresses import SECRET_INDEX, IngressMapper
from mappers.ingresshosts import check_class, check_hosts, ingress_hosts
from syncer.api import DONE, INGRESSES, MapperConfig, Refused
from tests.mappers.fakes import Fake, T
from tests.mappers.test_ingresses import v_ingress

Json = dict[str, Any]
TEAM_A = ("*.team-a.example.com", "team-a.example.com")


def spec(*hosts: str | None, tls: tuple[str, ...] = (), **fields: Any) -> Json:
    rules: list[Json] = [{"host": h} if h is not None else {} for h in hosts]
    out: Json = {"rules": rules, **fields}
    if tls:
        out["tls"] = [{"hosts": list(tls), "secretName": "cert"}]
    return out


@pytest.mark.parametrize(
    "hosts",
    [("shop.team-a.example.com",), ("team-a.example.com", "a.b.team-a.example.com")],
)
def test_hosts_inside_the_patterns_pass(hosts: tuple[str, ...]) -> None:
    check_hosts(spec(*hosts, tls=hosts), allowed=TEAM_A)
    check_hosts(spec("*.team-a.example.com"), allowed=TEAM_A)  # a wildcard inside


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (spec("shop.team-b.example.com"), "spec.rules[0].host"),
        (spec("*.example.com"), "spec.rules[0].host"),  # a wildcard over every tenant
        (spec("evilteam-a.example.com"), "spec.rules[0].host"),
        (spec("team-a.example.com.evil.org"), "spec.rules[0].host"),
        (spec(None), "spec.rules[0].host"),  # no host: every name
        (
            spec("a.team-a.example.com", tls=("a.team-a.example.com", "b.other")),
            "spec.tls[0].hosts[1]",
        ),
    ],
    ids=["other-tenant", "wider-wildcard", "suffix-without-dot", "prefix", "no-host", "tls"],
)
def test_hosts_outside_the_patterns_are_refused(value: Json, path: str) -> None:
    with pytest.raises(Refused) as refused:
        check_hosts(value, allowed=TEAM_A)
    assert refused.value.reason == "ingress_host"
    assert refused.value.message.startswith(path + ":")
    assert "VSYNCER_INGRESS_HOSTS" in refused.value.message


def test_without_patterns_every_host_passes() -> None:
    """vcluster's behaviour, the default."""
    check_hosts(spec("anything.example.org", None, tls=("*.example.org",)), allowed=())


@given(host=st.from_regex(r"[a-z0-9*]([-a-z0-9.*]{0,60}[a-z0-9])?", fullmatch=True))
def test_an_allowed_host_always_matches_a_pattern(host: str) -> None:
    """Property: whatever passes matches one pattern; nothing passes that matches none."""
    value = spec(host)
    matched = any(fnmatch.fnmatchcase(host, p) for p in TEAM_A)
    try:
        check_hosts(value, allowed=TEAM_A)
    except Refused:
        assert not matched
    else:
        assert matched
        assert host.endswith("team-a.example.com")
    assert list(ingress_hosts(value)) == [(host, "spec.rules[0].host")]


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ({"ingressClassName": "tenant-nginx"}, False),
        ({"ingressClassName": "public"}, True),
        ({}, True),  # the host's default class
    ],
)
def test_classes(value: Json, refused: bool) -> None:
    if not refused:
        check_class(value, allowed=("tenant-nginx",))
        return
    with pytest.raises(Refused) as caught:
        check_class(value, allowed=("tenant-nginx",))
    assert caught.value.reason == "ingress_class"
    assert caught.value.message.startswith("spec.ingressClassName:")
    check_class(value, allowed=())  # unset: every class


async def test_the_mapper_refuses_before_any_host_write() -> None:
    config = MapperConfig(ingress_hosts=("*.other.example",), ingress_classes=("nginx",))
    mapper = IngressMapper(translator=T, config=config)
    v_obj = v_ingress()  # host shop.example, class nginx
    fake = Fake(virtual={"ingresses": [v_obj]}, enabled=[INGRESSES])
    with pytest.raises(Refused) as refused:
        await mapper.sync_to_host(fake.ctx, v_obj)
    assert refused.value.reason == "ingress_host"
    assert fake.calls == []
    assert mapper.drift(fake.ctx, v_obj, None) is None  # refused on purpose: no drift

    allowed = MapperConfig(ingress_hosts=("shop.example",), ingress_classes=("nginx",))
    mapper = IngressMapper(translator=T, config=allowed)
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    assert fake.host.created[0]["spec"]["ingressClassName"] == "nginx"


def test_a_refused_ingress_keeps_no_tls_secret() -> None:
    """The secrets kind syncs a TLS secret only for an ingress that reaches the host."""
    config = MapperConfig(ingress_hosts=("*.other.example",))
    index = IngressMapper(translator=T, config=config).indexes()[SECRET_INDEX]
    assert list(index(v_ingress())) == []  # host shop.example is refused
    allowed = IngressMapper(translator=T, config=MapperConfig(ingress_hosts=("shop.example",)))
    assert list(allowed.indexes()[SECRET_INDEX](v_ingress())) == ["shop/cert"]
