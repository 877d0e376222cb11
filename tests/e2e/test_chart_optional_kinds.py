"""The chart's optional kinds and isolation mode with its service account and Role only:
network policies, ingresses, disruption budgets and a custom resource reach the host; host
storage, ingress, runtime and priority classes and the custom resource's CRD reach the
virtual cluster; the isolation objects and the host
namespace's label are kept; the host answers no request with 403."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import NotFound
from syncer.isolation_objects import LIMITRANGES, RESOURCEQUOTAS
from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo
from syncer.resources import (
    CRDS,
    INGRESSCLASSES,
    INGRESSES,
    NAMESPACES,
    NETWORKPOLICIES,
    PDBS,
    PRIORITYCLASSES,
    RUNTIMECLASSES,
    SERVICES,
    STORAGECLASSES,
    Resource,
)
from syncer.translate import Translator
from tests.e2e.chart_release import RELEASE, host_requests, installed, running_as_chart
from tests.e2e.test_sync_customresources import entry, established, gadget, gadgets, install
from tests.e2e.test_sync_support import exists, where
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
OPTIONAL = (
    "networkpolicies",
    "ingresses",
    "poddisruptionbudgets",
    "storageclasses",
    "ingressclasses",
    "runtimeclasses",
    "priorityclasses",
    "customresourcedefinitions",
)


def _tenant_objects() -> list[tuple[Resource, Json]]:
    return [
        (
            SERVICES,
            {
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            },
        ),
        (
            NETWORKPOLICIES,
            {"metadata": {"name": "deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        ),
        (
            PDBS,
            {
                "metadata": {"name": "web"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
            },
        ),
        (
            INGRESSES,
            {
                "metadata": {"name": "web"},
                "spec": {
                    "rules": [
                        {
                            "host": "web.example.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
        ),
    ]


def _host_classes(suffix: str) -> list[tuple[Resource, Json]]:
    return [
        (
            STORAGECLASSES,
            {"metadata": {"name": f"sc-{suffix}"}, "provisioner": "example.com/none"},
        ),
        (
            INGRESSCLASSES,
            {"metadata": {"name": f"ic-{suffix}"}, "spec": {"controller": "example.com/ingress"}},
        ),
        (RUNTIMECLASSES, {"metadata": {"name": f"rc-{suffix}"}, "handler": "runc"}),
        (PRIORITYCLASSES, {"metadata": {"name": f"pc-{suffix}"}, "value": 1000}),
    ]


@contextlib.asynccontextmanager
async def _classes(
    host: KubeClient, virtual: KubeClient
) -> AsyncIterator[list[tuple[Resource, str]]]:
    """Host classes of each fromHost kind, removed afterwards from both clusters."""
    made = _host_classes(secrets.token_hex(3))
    for resource, body in made:
        await host.create(resource, namespace=None, body=body)
    try:
        yield [(resource, body["metadata"]["name"]) for resource, body in made]
    finally:
        for resource, body in made:
            for kube in (host, virtual):
                with contextlib.suppress(NotFound):
                    await kube.delete(resource, namespace=None, name=body["metadata"]["name"])


@pytest.fixture
async def gadget_kind(host: KubeClient, virtual: KubeClient) -> AsyncIterator[Resource]:
    """A custom resource of its own group, its CRD on the host; removed from both after."""
    made = gadgets()
    await install(host, made)
    yield made
    for kube in (virtual, host):
        with contextlib.suppress(NotFound):
            await kube.delete(CRDS, namespace=None, name=made.qualified)


async def test_optional_kinds_sync_with_the_chart_role(
    host_cluster: ClusterInfo,
    virtual_cluster: ClusterInfo,
    host: KubeClient,
    virtual: KubeClient,
    v_ns: str,
    gadget_kind: Resource,
    tmp_path: Path,
) -> None:
    values = {
        "sync": {
            **{kind: {"enabled": True} for kind in OPTIONAL},
            "customResources": [entry(gadget_kind)],
        },
        "vsyncer": {"isolation": {"enabled": True, "labelNamespace": True}},
    }
    async with (
        installed(host_cluster, values=values) as release,
        _classes(host, virtual) as classes,
        running_as_chart(release, host=host_cluster, virtual=virtual_cluster, workdir=tmp_path) as (
            daemon,
            _settings,
            _kubeconfig,
        ),
    ):
        for resource, body in _tenant_objects():
            await virtual.create(resource, namespace=v_ns, body=body)
        names = Translator(vcluster=RELEASE, host_namespace=release.namespace)
        for resource, body in _tenant_objects():
            await wait_for_object(
                host,
                resource,
                namespace=release.namespace,
                name=names.host_name(v_ns, body["metadata"]["name"]),
                predicate=exists,
                within=90,
            )
        for resource, name in classes:
            await wait_for_object(
                virtual, resource, namespace=None, name=name, predicate=exists, within=90
            )
        # a custom resource: its CRD copied up, a tenant's object synced down
        await wait_for_object(
            virtual,
            CRDS,
            namespace=None,
            name=gadget_kind.qualified,
            predicate=established,
            within=90,
        )
        await virtual.create(gadget_kind, namespace=v_ns, body=gadget(gadget_kind, "g1"))
        await wait_for_object(
            host,
            gadget_kind,
            namespace=release.namespace,
            name=names.host_name(v_ns, "g1"),
            predicate=exists,
            within=90,
        )
        # isolation mode: its three objects in the host namespace, and the namespace's label
        ns = release.namespace
        for resource, name in (
            (RESOURCEQUOTAS, f"vc-{RELEASE}"),
            (LIMITRANGES, f"vc-{RELEASE}"),
            (NETWORKPOLICIES, f"vc-work-{RELEASE}"),
        ):
            await wait_for_object(host, resource, namespace=ns, name=name, predicate=exists)
        enforce = "pod-security.kubernetes.io/enforce"
        await wait_for_object(
            host,
            NAMESPACES,
            namespace=None,
            name=ns,
            predicate=where(lambda n: n["metadata"].get("labels", {}).get(enforce) == "baseline"),
        )
        codes = host_requests(daemon)
        assert sum(codes.values()) > 0
        assert codes.get("403", 0) == 0, codes
