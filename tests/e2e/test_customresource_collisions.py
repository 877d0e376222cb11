"""Custom-resource name patches end to end: a name whose host name is another virtual
namespace's object (``c/a-x-b`` and ``b-x-c/a`` share one) never reaches the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.resources import SECRETS, Resource
from syncer.translate import OBJECT_NAMESPACE_ANNOTATION
from tests.e2e import test_sync_customresources as crs
from tests.e2e.test_pod_boundary import named_namespace
from tests.e2e.test_sync_support import (
    exists,
    run_syncer,
    translator,
    wait_for_event,
)
from tests.kubehelpers import wait_for_object

resource = crs.resource  # the fixture: a custom resource of a group of its own
PATCHES = [
    {"path": "spec.secretRef.name", "type": "reference", "kind": "secrets"},
    {"path": "spec.target", "type": "rewriteName"},
]


async def test_name_patches_never_reach_another_namespaces_object(
    namespace: str,
    v_ns: str,
    resource: Resource,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """b-x-c's object names its secret 'a' (copied to the host); c's object naming its own
    secret 'a-x-b' (same host name) by a reference patch, and one naming 'a-x-b' by
    rewriteName, are refused (reference_collision) with no host copy; the host secret stays
    b-x-c's."""
    await crs.install(host, resource)
    t = translator(namespace)
    c = v_ns
    async with (
        named_namespace(virtual, f"b-x-{c}") as b,
        run_syncer(
            host_namespace=namespace,
            host_kubeconfig=host_kubeconfig,
            virtual_kubeconfig=virtual_kubeconfig,
            kinds=("secrets",),
            custom_resources=[{**crs.entry(resource), "patches": PATCHES}],
        ),
    ):
        p_secret = t.host_name(b, "a")
        assert p_secret == t.host_name(c, "a-x-b")
        await virtual.create(SECRETS, namespace=b, body={"metadata": {"name": "a"}})
        owner = crs.gadget(resource, "owner", spec={"secretRef": {"name": "a"}})
        await virtual.create(resource, namespace=b, body=owner)
        await wait_for_object(
            host, resource, namespace=namespace, name=t.host_name(b, "owner"), predicate=exists
        )
        await virtual.create(SECRETS, namespace=c, body={"metadata": {"name": "a-x-b"}})
        thieves = {
            "by-reference": {"secretRef": {"name": "a-x-b"}},
            "by-rewrite": {"target": "a-x-b"},
        }
        for name, spec in thieves.items():
            await virtual.create(resource, namespace=c, body=crs.gadget(resource, name, spec=spec))
        for name in thieves:
            event = await wait_for_event(virtual, namespace=c, reason="SyncRefused", name=name)
            assert "could be another virtual namespace's" in event["message"], event["message"]
            with pytest.raises(NotFound):
                await host.get(resource, namespace=namespace, name=t.host_name(c, name))
        held = await host.get(SECRETS, namespace=namespace, name=p_secret)
        assert held["metadata"]["annotations"][OBJECT_NAMESPACE_ANNOTATION] == b
