"""Each built-in mapper's declared reads cover every cache its reconcile asks for.

Every test runs a mapper's reconcile steps (and drift check) on a fake that
lets it read exactly what the runtime would (:func:`declared`, from the same
rule the wiring uses) and raises ``UndeclaredRead`` on anything else; once
with no optional kind enabled and once with every built-in kind enabled.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from mappers.configmaps import ConfigMapMapper
from mappers.endpoints import EndpointsMapper
from mappers.events import EventMapper
from mappers.nodes import NodeMapper
from mappers.pods import PodMapper
from mappers.pvcs import PersistentVolumeClaimMapper
from mappers.references import CONFIGMAP_INDEX, NODE_INDEX, PVC_INDEX, SECRET_INDEX
from mappers.secrets import SecretMapper
from mappers.serviceaccounts import SERVICE_ACCOUNT_INDEX
from mappers.services import ServiceMapper
from syncer import pipeline
from syncer.api import (
    CONFIGMAPS,
    DONE,
    ENDPOINTS,
    NODES,
    PODS,
    PVCS,
    SECRETS,
    SERVICES,
    Mapper,
    ObjectKey,
    Refused,
    Resource,
    UndeclaredRead,
)
from syncer.capabilities import Capabilities, capabilities_of
from syncer.kit.testing import BUILT_IN
from syncer.kube import KubeClient
from syncer.metrics import Metrics
from syncer.pipeline import allowed_reads, check_reads
from syncer.plugins import discover
from syncer.settings import load_settings
from tests.mappers.fakes import Fake, FakeCache, Json, T, host_copy, pod_calls

#: Every built-in kind a mapper can be run with.
ALL = tuple(BUILT_IN.values())


def declared(mapper: Mapper) -> list[Resource]:
    """The kinds ``mapper`` may read at run time (its declarations, as the wiring reads them)."""
    allowed = allowed_reads(mapper, capabilities_of(mapper))
    assert allowed is not None, f"{mapper.resource.plural} declares no reads"
    return [r for r in ALL if (r.group, r.plural) in allowed]


def fake_for(
    mapper: Mapper, *, all_kinds: bool, virtual: dict[str, list[Json]], host: dict[str, list[Json]]
) -> Fake:
    """A fake running ``mapper`` alone (its own kinds) or with every built-in kind."""
    own = {mapper.resource, capabilities_of(mapper).host_resource or mapper.resource}
    enabled = ALL if all_kinds else tuple(own)
    host_reads = capabilities_of(mapper).host_reads
    fake = Fake(
        virtual=virtual, host=host, enabled=enabled, reads=declared(mapper), host_reads=host_reads
    )
    pods = fake.virtual_caches.setdefault("pods", FakeCache())
    pods.indexes.update(PodMapper(translator=T).indexes())  # as the pods mapper registers them
    fake.bind(mapper)
    return fake


def test_the_indexes_the_fakes_register_are_the_pods_mapper_s() -> None:
    """The fakes above file virtual pods under the indexes the other mappers look up."""
    assert set(PodMapper(translator=T).indexes()) == {
        CONFIGMAP_INDEX,
        SECRET_INDEX,
        PVC_INDEX,
        NODE_INDEX,
        SERVICE_ACCOUNT_INDEX,
    }


@pytest.mark.parametrize("kinds", ["pods,nodes", "pods", "nodes", "services,endpoints", "events"])
def test_start_up_never_fails_for_a_may_read_kind_that_is_off(kinds: str) -> None:
    """Only ``reads`` must be enabled; the built-ins read other kinds only when they run."""
    makers = {
        "pods": PodMapper,
        "nodes": NodeMapper,
        "services": ServiceMapper,
        "endpoints": EndpointsMapper,
        "events": EventMapper,
    }
    mappers: dict[str, Mapper] = {k: makers[k](translator=T) for k in kinds.split(",")}
    caps = {k: capabilities_of(m) for k, m in mappers.items()}
    assert all(c.reads == frozenset() for c in caps.values())
    assert check_reads(mappers, caps) == {("", k) for k in kinds.split(",")}


def _idle_client(cluster: str) -> KubeClient:
    """A client that is never asked anything: building wires, it does not talk."""
    configuration = SimpleNamespace(host="https://127.0.0.1:1", tls_server_name=None)
    return KubeClient(
        cluster=cluster,
        configuration=configuration,
        session=None,  # type: ignore[arg-type]
        metrics=Metrics().rest_metrics(),
    )


@pytest.mark.parametrize("kinds", [None, "pods,nodes"])
def test_the_registered_mappers_wire_with_the_default_kinds_and_with_pods_and_nodes(
    kinds: str | None,
) -> None:
    """The wiring accepts the declarations; a may_read kind that is off is not served,
    but a host_reads one is."""
    env = {"VSYNCER_VCLUSTER_NAME": "vc", "VSYNCER_HOST_NAMESPACE": "vc-host"}
    if kinds is not None:
        env["VSYNCER_KINDS"] = kinds
    settings = load_settings(env=env)
    wiring = pipeline.build(
        settings=settings,
        factories=discover(),
        virtual=_idle_client("virtual"),
        host=_idle_client("host"),
        may_write=lambda: True,
        metrics=Metrics(),
        blocked_initial=30.0,
    )
    assert sorted(wiring.kinds) == sorted(settings.kinds)
    ctx = wiring.kinds["pods"].sync.context
    assert ctx.serves(SECRETS) is (kinds is None)
    assert ctx.host_cache(NODES) is wiring.informers[("host", "nodes")].store
    # The pods mapper's own host secrets cache (its token Secrets) runs either way,
    # with the pods pipeline.
    assert capabilities_of(wiring.kinds["pods"].sync.mapper).host_reads == {SECRETS}
    secrets = wiring.informers[("host", "secrets")]
    assert ctx.host_cache(SECRETS) is secrets.store
    assert secrets in wiring.kinds["pods"].informers


def v_pod() -> Json:
    """A pod on node n1 referencing a secret, a configmap and a claim, projecting a token."""
    return {
        "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"},
        "spec": {
            "nodeName": "n1",
            "serviceAccountName": "default",
            "containers": [
                {
                    "name": "c",
                    "image": "nginx",
                    "env": [
                        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}
                    ],
                }
            ],
            "volumes": [
                {"name": "s", "secret": {"secretName": "sec"}},
                {"name": "p", "persistentVolumeClaim": {"claimName": "claim"}},
                {
                    "name": "tok",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                },
            ],
        },
    }


@pytest.mark.parametrize("all_kinds", [False, True])
async def test_pods_read_only_what_they_declare(all_kinds: bool) -> None:
    """Create, token Secret, update and drift: nodes, references and tokens only when enabled."""
    mapper = PodMapper(translator=T)
    pod = v_pod()
    if not all_kinds:  # without the nodes kind a tenant-set nodeName is refused (podplacement)
        del pod["spec"]["nodeName"]
    host = {"nodes": [{"metadata": {"name": "n1"}}]}
    fake = fake_for(mapper, all_kinds=all_kinds, virtual={"pods": [pod]}, host=host)
    await mapper.sync_to_host(fake.ctx, pod)
    created = [c for c in pod_calls(fake) if c[1] == "create"]
    token_made = any(c for c in created if c[2] != T.host_name("shop", "web"))
    assert token_made  # the token Secret, whether or not the secrets mapper runs
    made = next(o for o in fake.host.created if o["kind"] == "Pod")
    p_pod = {**made, "status": {"phase": "Running"}}
    p_pod["metadata"] = {**p_pod["metadata"], "uid": "p-uid", "resourceVersion": "1"}
    fake.host_caches.setdefault("pods", FakeCache()).put(p_pod)
    await mapper.sync(fake.ctx, pod, p_pod)
    mapper.drift(fake.ctx, pod, p_pod)
    mapper.drift(fake.ctx, pod, None)


def selectorless_service(**spec: Any) -> Json:
    return {
        "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid", "resourceVersion": "4"},
        "spec": {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


@pytest.mark.parametrize("all_kinds", [False, True])
async def test_services_read_only_what_they_declare(all_kinds: bool) -> None:
    """External IPs are checked against host nodes and services; a recreate reads endpoints."""
    mapper = ServiceMapper(translator=T)
    named = selectorless_service(externalIPs=["203.0.113.9"])
    fake = fake_for(mapper, all_kinds=all_kinds, virtual={"services": [named]}, host={})
    with pytest.raises(Refused):
        await mapper.sync_to_host(fake.ctx, named)
    plain = selectorless_service()
    assert await mapper.sync_to_host(fake.ctx, plain) is not None
    p_svc = mapper.desired_host(fake.ctx, plain, None)
    assert p_svc is not None
    p_svc["metadata"]["uid"] = "p-uid"
    p_svc["spec"] = {**p_svc["spec"], "clusterIP": "10.96.7.7", "clusterIPs": ["10.96.7.7"]}
    await mapper.sync(fake.ctx, plain, p_svc)  # another cluster IP: recreated virtually
    mapper.drift(fake.ctx, plain, p_svc)


@pytest.mark.parametrize("all_kinds", [False, True])
async def test_endpoints_read_only_what_they_declare(all_kinds: bool) -> None:
    """Addresses are checked against host nodes and services while those mappers run."""
    mapper = EndpointsMapper(translator=T)
    service = selectorless_service()
    v_endpoints = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "e-uid"},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}],
    }
    virtual = {"services": [service], "endpoints": [v_endpoints]}
    fake = fake_for(mapper, all_kinds=all_kinds, virtual=virtual, host={})
    await mapper.sync_to_host(fake.ctx, v_endpoints)
    assert [c[1] for c in fake.calls] == ["create"]
    mapper.drift(fake.ctx, v_endpoints, None)


@pytest.mark.parametrize("all_kinds", [False, True])
async def test_nodes_read_only_what_they_declare(all_kinds: bool) -> None:
    """A fake node is made only while a synced pod is bound to it (pods enabled)."""
    mapper = NodeMapper(translator=T)
    bound = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {"nodeName": "n1"}}
    fake = fake_for(mapper, all_kinds=all_kinds, virtual={"pods": [bound]}, host={})
    result = await mapper.sync_to_virtual(
        fake.ctx, ObjectKey("nodes", "", "n1"), {"metadata": {"name": "n1"}}
    )
    assert (result == DONE) is not all_kinds
    assert [c[:2] for c in fake.calls] == ([("virtual", "create")] if all_kinds else [])


@pytest.mark.parametrize("kind", [PODS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, PVCS])
@pytest.mark.parametrize("all_kinds", [False, True])
async def test_events_read_only_what_they_declare(kind: Resource, all_kinds: bool) -> None:
    """An event about an object of a synced kind reads that kind's caches, only when it runs."""
    mapper = EventMapper(translator=T)
    p_target = host_copy(kind, namespace="shop", name="web")
    v_target = {"metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"}}
    p_event = {
        "metadata": {"name": "ev", "namespace": T.host_namespace, "uid": "e-uid"},
        "involvedObject": {
            "kind": kind.kind,
            "name": p_target["metadata"]["name"],
            "namespace": T.host_namespace,
        },
        "reason": "Seen",
        "message": "m",
        "type": "Normal",
    }
    fake = fake_for(
        mapper,
        all_kinds=all_kinds,
        virtual={kind.plural: [v_target]},
        host={kind.plural: [p_target], "events": [p_event]},
    )
    key = mapper.host_to_virtual(p_event)
    assert key is not None
    result = await mapper.sync_to_virtual(fake.ctx, key, p_event)
    assert (result == DONE) is not all_kinds or bool(fake.calls)
    assert bool(fake.calls) is all_kinds


@pytest.mark.parametrize("all_kinds", [False, True])
async def test_pvcs_read_only_what_they_declare(all_kinds: bool) -> None:
    """A claim cloned from another claim: the source is read, partners only while pods run."""
    mapper = PersistentVolumeClaimMapper(translator=T)
    claim = {
        "metadata": {"name": "claim", "namespace": "shop", "uid": "c-uid"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "dataSource": {"kind": "PersistentVolumeClaim", "name": "src"},
        },
    }
    source = host_copy(PVCS, namespace="shop", name="src")
    fake = fake_for(
        mapper,
        all_kinds=all_kinds,
        virtual={"persistentvolumeclaims": [claim], "pods": [v_pod()]},
        host={"persistentvolumeclaims": [source]},
    )
    await mapper.sync_to_host(fake.ctx, claim)
    assert [c[1] for c in fake.calls] == ["create"]
    mapper.drift(fake.ctx, claim, None)


#: What the configmaps and secrets mappers would declare (``mappers.referenced``).  They still
#: declare nothing: tests/syncer/test_capabilities.py takes configmaps as the mapper that does.
REFERENCED = Capabilities(reads=frozenset(), may_read=frozenset({PODS}))


@pytest.mark.parametrize("make", [ConfigMapMapper, SecretMapper])
@pytest.mark.parametrize("all_kinds", [False, True])
async def test_referenced_copies_would_read_only_pods_besides_their_own(
    make: type[ConfigMapMapper] | type[SecretMapper], all_kinds: bool
) -> None:
    """Index lookup and partner check read pods only; copied only while pods run."""

    class Declared(make):  # type: ignore[valid-type,misc]
        capabilities = REFERENCED

    mapper = Declared(translator=T)
    v_obj = {"metadata": {"name": "cm", "namespace": "shop", "uid": "o-uid"}, "data": {"k": "v"}}
    if make is SecretMapper:
        v_obj["metadata"]["name"] = "sec"
    virtual = {mapper.resource.plural: [v_obj], "pods": [v_pod()]}
    fake = fake_for(mapper, all_kinds=all_kinds, virtual=virtual, host={})
    await mapper.sync_to_host(fake.ctx, v_obj)
    assert [c[1] for c in fake.calls] == (["create"] if all_kinds else [])
    mapper.drift(fake.ctx, v_obj, None)


async def test_an_undeclared_read_fails_on_the_fake_as_at_run_time() -> None:
    """Endpoints without nodes in may_read: reading the enabled nodes cache is UndeclaredRead."""

    class Careless(EndpointsMapper):
        capabilities = Capabilities(reads=frozenset(), may_read=frozenset({SERVICES}))

    mapper = Careless(translator=T)
    v_endpoints = {
        "metadata": {"name": "web", "namespace": "shop", "uid": "e-uid"},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}],
    }
    virtual = {"services": [selectorless_service()], "endpoints": [v_endpoints]}
    fake = fake_for(mapper, all_kinds=True, virtual=virtual, host={})
    assert NODES not in declared(mapper)
    with pytest.raises(UndeclaredRead):
        await mapper.sync_to_host(fake.ctx, v_endpoints)
