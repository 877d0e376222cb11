"""Cache handles taken at start-up: checked against declared reads when the wiring is built.

The clients are real :class:`~syncer.kube.KubeClient` objects that are never asked
anything: building the wiring creates informers, it does not talk.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mappers.configmaps import ConfigMapMapper
from mappers.pods import make as make_pods
from syncer import pipeline
from syncer.api import (
    CONFIGMAPS,
    PODS,
    SECRETS,
    SERVICES,
    CacheHandles,
    Caches,
    CacheUser,
    NotServed,
    Resource,
    Translator,
    UndeclaredRead,
)
from syncer.kit import CopySyncer
from syncer.kit.testing import FakeContext
from syncer.kube import KubeClient
from syncer.metrics import Metrics
from syncer.plugins import PluginError
from syncer.settings import load_settings


class Grabby(CopySyncer):
    """Declares no reads, then asks for the virtual services cache at start-up."""

    reads: frozenset[Resource] = frozenset()
    wanted = SERVICES

    def __init__(self, *, translator: Translator) -> None:
        super().__init__(resource=CONFIGMAPS, translator=translator)

    def use_caches(self, *, caches: Caches) -> None:
        self.taken = caches.virtual(self.wanted)


class Hopeful(Grabby):
    """Declares services as ``may_read`` and asks without checking ``serves``."""

    reads: frozenset[Resource] = frozenset()
    may_read = frozenset({SERVICES})


def _client(cluster: str) -> KubeClient:
    configuration = SimpleNamespace(host="https://127.0.0.1:1", tls_server_name=None)
    return KubeClient(
        cluster=cluster,
        configuration=configuration,
        session=None,  # type: ignore[arg-type]
        metrics=Metrics().rest_metrics(),
    )


def _build(kinds: str, **factories: object) -> pipeline.Wiring:
    """The wiring of ``kinds``: the built-in pods mapper and the given factories."""
    settings = load_settings(
        env={
            "VSYNCER_VCLUSTER_NAME": "vc",
            "VSYNCER_HOST_NAMESPACE": "vc-host",
            "VSYNCER_KINDS": kinds,
        }
    )
    return pipeline.build(
        settings=settings,
        factories={"pods": make_pods, **factories},  # type: ignore[dict-item]
        virtual=_client("virtual"),
        host=_client("host"),
        may_write=lambda: True,
        metrics=Metrics(),
        blocked_initial=30.0,
    )


def test_an_undeclared_cache_fails_start_up_with_one_line_naming_mapper_and_kind() -> None:
    with pytest.raises(PluginError) as caught:
        _build("pods,configmaps", configmaps=Grabby)
    message = str(caught.value)
    assert "\n" not in message
    assert "'configmaps'" in message
    assert "'services'" in message
    assert "start-up" in message


def test_a_may_read_kind_that_is_off_fails_start_up_unless_serves_was_asked() -> None:
    with pytest.raises(PluginError) as caught:
        _build("configmaps", configmaps=Hopeful)
    assert "no virtual cache of 'services' runs here" in str(caught.value)


def test_a_declared_handle_is_the_informer_store_itself() -> None:
    wiring = _build("pods,configmaps", configmaps=ConfigMapMapper)
    mapper = wiring.kinds["configmaps"].sync.mapper
    assert isinstance(mapper, CacheUser)
    assert isinstance(mapper, ConfigMapMapper)
    assert mapper._referrers is wiring.informers[("virtual", "pods")].store


def test_a_referrer_kind_that_is_off_leaves_nothing_referenced() -> None:
    wiring = _build("configmaps", configmaps=ConfigMapMapper)
    mapper = wiring.kinds["configmaps"].sync.mapper
    assert isinstance(mapper, ConfigMapMapper)
    assert mapper._referrers is None


def test_the_in_memory_context_applies_the_same_checks() -> None:
    fake = FakeContext(virtual={"configmaps": []}, reads=[CONFIGMAPS, PODS])
    with pytest.raises(UndeclaredRead):
        fake.bind(Grabby(translator=fake.translator))
    plain = FakeContext(virtual={"configmaps": []})
    handles = CacheHandles(
        virtual_cache=plain.ctx.virtual_cache, host_cache=plain.ctx.host_cache, enabled=None
    )
    assert handles.serves(CONFIGMAPS)
    with pytest.raises(NotServed):
        handles.host(SECRETS)
