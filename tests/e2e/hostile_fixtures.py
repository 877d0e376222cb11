"""Support for the hostile-tenant suites: one daemon per module, its host namespace and a neighbour.

Import the fixtures into a test module (``from tests.e2e.hostile_fixtures import
daemon, host_ns, neighbour_ns, t``): each module then gets one host namespace,
one neighbouring host namespace (for look-alikes of its host names, which must
never be written) and one real daemon with every built-in kind
(:func:`~tests.e2e.hostsnapshot.hostile_daemon`), shared by its tests.  Both
namespaces are removed at the end of the module.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncer.daemon import Daemon
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, NAMESPACES, SERVICEACCOUNTS, Resource
from syncer.translate import (
    OBJECT_HOST_NAME_ANNOTATION,
    OBJECT_HOST_NAMESPACE_ANNOTATION,
    OBJECT_KIND_ANNOTATION,
    OBJECT_NAME_ANNOTATION,
    OBJECT_NAMESPACE_ANNOTATION,
    OBJECT_UID_ANNOTATION,
    Translator,
)
from tests.e2e.hostsnapshot import HostSnapshot, hostile_daemon
from tests.e2e.test_sync_support import exists, translator, where
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]


async def _host_namespace(host: KubeClient) -> str:
    name = f"h-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await host.create(NAMESPACES, namespace=None, body=body)
    await wait_for_object(host, SERVICEACCOUNTS, namespace=name, name="default", predicate=exists)
    await wait_for_object(
        host, CONFIGMAPS, namespace=name, name="kube-root-ca.crt", predicate=exists
    )
    return name


@pytest.fixture(scope="module")
async def host_ns(host: KubeClient) -> AsyncIterator[str]:
    """The syncer's host namespace for the module."""
    name = await _host_namespace(host)
    yield name
    await host.delete(NAMESPACES, namespace=None, name=name)


@pytest.fixture(scope="module")
async def neighbour_ns(host: KubeClient) -> AsyncIterator[str]:
    """Another host namespace, where look-alikes of the tenant's host names live."""
    name = await _host_namespace(host)
    yield name
    await host.delete(NAMESPACES, namespace=None, name=name)


@pytest.fixture(scope="module")
async def daemon(
    host_ns: str, host_kubeconfig: Path, virtual_kubeconfig: Path
) -> AsyncIterator[Daemon]:
    async with hostile_daemon(
        host_namespace=host_ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
    ) as running:
        yield running


@pytest.fixture
def t(host_ns: str) -> Translator:
    return translator(host_ns)


async def snapshot(host: KubeClient, t: Translator, neighbour_ns: str) -> HostSnapshot:
    return await HostSnapshot.take(host, translator=t, namespaces=(t.host_namespace, neighbour_ns))


async def copy_of(host: KubeClient, t: Translator, resource: Resource, v_obj: Json) -> Json:
    """The host copy of ``v_obj`` once it exists and names ``v_obj``'s UID."""
    meta = v_obj["metadata"]

    def made_from_it(obj: Json) -> bool:
        annotations = obj["metadata"].get("annotations") or {}
        return bool(annotations.get(OBJECT_UID_ANNOTATION) == meta["uid"])

    found = await wait_for_object(
        host,
        resource,
        namespace=t.host_namespace,
        name=t.host_name(meta["namespace"], meta["name"]),
        predicate=where(made_from_it),
    )
    assert found is not None
    return found


def true_provenance(t: Translator, resource: Resource, v_obj: Json) -> dict[str, str]:
    """The provenance annotations the host copy of ``v_obj`` must carry."""
    meta = v_obj["metadata"]
    return {
        OBJECT_NAME_ANNOTATION: meta["name"],
        OBJECT_NAMESPACE_ANNOTATION: meta["namespace"],
        OBJECT_UID_ANNOTATION: meta["uid"],
        OBJECT_KIND_ANNOTATION: resource.kind_string,
        OBJECT_HOST_NAME_ANNOTATION: t.host_name(meta["namespace"], meta["name"]),
        OBJECT_HOST_NAMESPACE_ANNOTATION: t.host_namespace,
    }
