"""Declared capabilities: the typed accessor, declared reads checked at start-up, the cache
accessors' errors, and ``ctx.serves``."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import pytest

from mappers.events import make as make_events
from mappers.nodes import make as make_nodes
from mappers.pods import make as make_pods
from syncer import pipeline
from syncer.api import (
    CONFIGMAPS,
    NODES,
    PODS,
    SECRETS,
    Mapper,
    Obj,
    ObjectKey,
    Resource,
    SyncContext,
)
from syncer.capabilities import (
    Capabilities,
    CapabilityError,
    NotServed,
    UndeclaredRead,
    capabilities_of,
)
from syncer.kube import KubeClient
from syncer.metrics import Metrics
from syncer.plugins import PluginError
from syncer.settings import load_settings
from syncer.translate import Translator

T = Translator(vcluster="vc", host_namespace="vc-host")


class Widgets:
    """A plugin mapper over configmaps that declares what it reads."""

    resource = CONFIGMAPS

    def __init__(self, *, translator: Translator, reads: Any = None, may_read: Any = ()) -> None:
        self.t = translator
        if reads is not None:
            self.reads = reads
        self.may_read = frozenset(may_read)

    def virtual_to_host(self, key: ObjectKey) -> str | None:
        return None

    def host_to_virtual(self, p_obj: Obj) -> ObjectKey | None:
        return None

    def is_managed(self, p_obj: Obj) -> bool:
        return False


def test_builtin_declarations_read_through_one_accessor() -> None:
    """Pods skip their own echoes; nodes watch every host node; events every host event."""
    assert capabilities_of(make_pods(translator=T)).skip_own_echoes is True
    nodes = capabilities_of(make_nodes(translator=T))
    assert (nodes.host_resource, nodes.host_selector(managed="m")) == (NODES, None)
    assert capabilities_of(make_events(translator=T)).host_selector(managed="m") is None
    plain = capabilities_of(Widgets(translator=T))
    assert plain == Capabilities()
    assert plain.host_selector(managed="m") == "m"


def test_a_capabilities_value_wins_and_bad_types_are_named() -> None:
    """A ``capabilities`` attribute is taken as is; a wrongly typed declaration is an error."""
    mapper = Widgets(translator=T)
    mapper.capabilities = Capabilities(skip_own_echoes=True)  # type: ignore[attr-defined]
    assert capabilities_of(mapper).skip_own_echoes is True
    bad = Widgets(translator=T, reads=["secrets"])
    with pytest.raises(CapabilityError, match="mapper 'configmaps': reads must be a set"):
        capabilities_of(bad)


def _fake_client(cluster: str) -> KubeClient:
    """A client that is never asked anything: building wires, it does not talk."""
    configuration = SimpleNamespace(host="https://127.0.0.1:1", tls_server_name=None)
    return KubeClient(
        cluster=cluster,
        configuration=configuration,
        session=None,  # type: ignore[arg-type]
        metrics=Metrics().rest_metrics(),
    )


def _build(kinds: str, factories: dict[str, Any]) -> pipeline.Wiring:
    settings = load_settings(
        env={
            "VSYNCER_VCLUSTER_NAME": "vc",
            "VSYNCER_HOST_NAMESPACE": "vc-host",
            "VSYNCER_KINDS": kinds,
        }
    )
    host = _fake_client("host")
    metrics = Metrics()
    return pipeline.build(
        settings=settings,
        factories=factories,
        virtual=_fake_client("virtual"),
        host=host,
        may_write=lambda: True,
        metrics=metrics,
        blocked_initial=30.0,
    )


def test_a_declared_read_of_a_kind_not_enabled_fails_at_start_up() -> None:
    """One line naming the mapper and the kind, before anything runs."""

    def factory(*, translator: Translator) -> Mapper:
        return Widgets(translator=translator, reads={SECRETS})

    with pytest.raises(PluginError) as info:
        _build("configmaps", {"configmaps": factory})
    message = str(info.value)
    assert message == (
        "mapper 'configmaps' reads 'secrets', which is not enabled: "
        "enable it or declare it in may_read"
    )
    assert "\n" not in message


def _context(wiring: pipeline.Wiring, kind: str) -> SyncContext:
    return wiring.kinds[kind].sync.context


def test_undeclared_cache_access_names_mapper_and_kind() -> None:
    """A mapper that declares its reads gets only those; an optional one it may ask about."""

    def factory(*, translator: Translator) -> Mapper:
        return Widgets(translator=translator, reads=frozenset(), may_read={NODES})

    ctx = _context(
        _build("configmaps,pods", {"configmaps": factory, "pods": make_pods}), "configmaps"
    )
    assert ctx.virtual_cache(CONFIGMAPS) is not None
    with pytest.raises(UndeclaredRead, match="mapper 'configmaps' read the host cache of 'pods'"):
        ctx.host_cache(PODS)
    assert (ctx.serves(NODES), ctx.serves(PODS)) == (False, True)
    with pytest.raises(NotServed):
        ctx.host_cache(NODES)


def test_a_mapper_declaring_nothing_may_read_any_cache_that_runs() -> None:
    """The built-ins keep working: an absent cache is a KeyError, as before."""
    wiring = _build("configmaps,pods", {"configmaps": Widgets, "pods": make_pods})
    ctx = _context(wiring, "configmaps")
    assert ctx.host_cache(PODS) is wiring.informers[("host", "pods")].store
    with pytest.raises(KeyError, match="no host cache of 'nodes' runs here"):
        ctx.host_cache(NODES)
    assert (ctx.serves(PODS), ctx.serves(NODES)) == (True, False)


class Gadgets(Widgets):
    """A custom kind: ``gadgets`` in the group it is given."""

    def __init__(self, *, translator: Translator, group: str) -> None:
        super().__init__(translator=translator)
        self.resource = Resource(group, "v1", "gadgets", "Gadget")


def test_two_groups_of_one_plural_get_their_own_informers_and_pipelines() -> None:
    """Kinds are qualified: ``gadgets.a.example`` and ``gadgets.b.example`` never share a cache."""
    factories = {
        f"gadgets.{g}.example": functools.partial(Gadgets, group=f"{g}.example") for g in "ab"
    }
    wiring = _build("gadgets.a.example,gadgets.b.example", factories)
    assert sorted(wiring.kinds) == ["gadgets.a.example", "gadgets.b.example"]
    assert sorted(wiring.informers) == [
        ("host", "gadgets.a.example"),
        ("host", "gadgets.b.example"),
        ("virtual", "gadgets.a.example"),
        ("virtual", "gadgets.b.example"),
    ]
    a, b = (wiring.kinds[f"gadgets.{g}.example"] for g in "ab")
    assert a.informers[0] is not b.informers[0]
    assert (a.sync.label, a.controller.kind) == ("gadgets.a.example", "gadgets.a.example")
