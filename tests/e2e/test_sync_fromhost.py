"""fromHost classes end to end: the host's storage and priority classes, shown read-only.

Host objects carry a label unique to the test, and vsyncer copies only those
(``VSYNCER_FROM_HOST_LABEL_SELECTOR``), so classes of other tests sharing the
control plane are never copied or compared.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import NotFound
from syncer.kit import FROM_HOST_LABEL
from syncer.kube import KubeClient
from syncer.resources import (
    INGRESSCLASSES,
    PRIORITYCLASSES,
    RUNTIMECLASSES,
    STORAGECLASSES,
    Resource,
)
from tests.e2e.test_sync_support import exists, gone, run_syncer, where
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("storageclasses.storage.k8s.io", "priorityclasses.scheduling.k8s.io")


def storage_class(name: str, labels: dict[str, str], **fields: Any) -> Json:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "labels": labels},
        "provisioner": "csi.example.com",
        "parameters": {"type": "ssd"},
        **fields,
    }


@pytest.fixture
def token() -> str:
    return secrets.token_hex(4)


@pytest.fixture
async def cleanup(host: KubeClient, virtual: KubeClient) -> AsyncIterator[list[tuple[str, Any]]]:
    """Cluster-scoped objects to delete afterwards, as ``(cluster, (resource, name))``."""
    made: list[tuple[str, Any]] = []
    yield made
    for cluster, (resource, name) in made:
        client = host if cluster == "host" else virtual
        with contextlib.suppress(NotFound):
            await client.delete(resource, namespace=None, name=name)


async def _virtual(virtual: KubeClient, resource: Resource, name: str, check: Any) -> Json:
    """The virtual object once ``check`` holds ({} when it holds for an absent one)."""
    obj = await wait_for_object(virtual, resource, namespace=None, name=name, predicate=check)
    return obj or {}


async def test_host_storage_classes_are_copied_followed_and_kept_read_only(
    namespace: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    token: str,
    cleanup: list[tuple[str, Any]],
) -> None:
    """Copy appears (only selected ones); a host update follows; a tenant's edit and deletion
    are reverted; the tenant's own class of a host class's name is untouched; a host delete
    (or the host class leaving the selector) removes the copy."""
    sel = {"e2e-fromhost": token}
    fast, plain, own = f"fast-{token}", f"plain-{token}", f"own-{token}"
    for name in (fast, plain, own):
        cleanup += [("host", (STORAGECLASSES, name)), ("virtual", (STORAGECLASSES, name))]
    await host.create(STORAGECLASSES, namespace=None, body=storage_class(fast, sel))
    await host.create(STORAGECLASSES, namespace=None, body=storage_class(plain, {}))
    await host.create(STORAGECLASSES, namespace=None, body=storage_class(own, sel))
    mine = await virtual.create(
        STORAGECLASSES,
        namespace=None,
        body=storage_class(own, {"tenant": "yes"}, provisioner="tenant.example.com"),
    )
    async with run_syncer(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        from_host_label_selector=f"e2e-fromhost={token}",
    ):
        copy = await _virtual(virtual, STORAGECLASSES, fast, exists)
        assert copy["metadata"]["labels"] == {**sel, FROM_HOST_LABEL: "true"}
        assert copy["provisioner"] == "csi.example.com"
        assert copy["parameters"] == {"type": "ssd"}

        # A host update reaches the copy.
        await host.patch(
            STORAGECLASSES,
            namespace=None,
            name=fast,
            body={"allowVolumeExpansion": True, "metadata": {"labels": {"speed": "high"}}},
        )
        await _virtual(
            virtual,
            STORAGECLASSES,
            fast,
            where(
                lambda o: (
                    o.get("allowVolumeExpansion") is True
                    and o["metadata"]["labels"].get("speed") == "high"
                )
            ),
        )

        # A tenant's edit is reverted, and so is its deletion of the copy.
        await virtual.patch(
            STORAGECLASSES,
            namespace=None,
            name=fast,
            body={"allowVolumeExpansion": False, "metadata": {"labels": {"speed": "low"}}},
        )
        await _virtual(
            virtual,
            STORAGECLASSES,
            fast,
            where(
                lambda o: (
                    o.get("allowVolumeExpansion") is True
                    and o["metadata"]["labels"].get("speed") == "high"
                )
            ),
        )
        await virtual.delete(STORAGECLASSES, namespace=None, name=fast)
        await _virtual(virtual, STORAGECLASSES, fast, exists)

        # Leaving the selector removes the copy; the unselected class never had one.
        await host.patch(
            STORAGECLASSES,
            namespace=None,
            name=fast,
            body={"metadata": {"labels": {"e2e-fromhost": None}}},
        )
        await _virtual(virtual, STORAGECLASSES, fast, gone)
        await host.patch(
            STORAGECLASSES, namespace=None, name=fast, body={"metadata": {"labels": sel}}
        )
        await _virtual(virtual, STORAGECLASSES, fast, exists)
        # A host delete removes the copy.
        await host.delete(STORAGECLASSES, namespace=None, name=fast)
        await _virtual(virtual, STORAGECLASSES, fast, gone)
        with pytest.raises(NotFound):
            await virtual.get(STORAGECLASSES, namespace=None, name=plain)

        # The tenant's own class under a selected host class's name was never touched.
        still = await virtual.get(STORAGECLASSES, namespace=None, name=own)
        assert still["metadata"]["resourceVersion"] == mine["metadata"]["resourceVersion"]
        await host.delete(STORAGECLASSES, namespace=None, name=own)
    still = await virtual.get(STORAGECLASSES, namespace=None, name=own)
    assert still["provisioner"] == "tenant.example.com"


async def test_a_host_default_priority_class_is_copied_but_not_as_the_virtual_default(
    namespace: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    token: str,
    cleanup: list[tuple[str, Any]],
) -> None:
    """value and description as on the host; globalDefault false in the virtual cluster, and the
    tenant can still make its own default class."""
    name, tenant_default = f"high-{token}", f"tenant-default-{token}"
    cleanup += [
        ("host", (PRIORITYCLASSES, name)),
        ("virtual", (PRIORITYCLASSES, name)),
        ("virtual", (PRIORITYCLASSES, tenant_default)),
    ]
    body = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name, "labels": {"e2e-fromhost": token}},
        "value": 100000,
        "globalDefault": False,
        "description": "host class",
    }
    await host.create(PRIORITYCLASSES, namespace=None, body=body)
    async with run_syncer(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
        from_host_label_selector=f"e2e-fromhost={token}",
    ):
        await virtual.create(
            PRIORITYCLASSES,
            namespace=None,
            body={
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": tenant_default},
                "value": 10,
                "globalDefault": True,
            },
        )
        copy = await _virtual(virtual, PRIORITYCLASSES, name, exists)
        assert copy["value"] == 100000
        assert copy["description"] == "host class"
        assert copy.get("globalDefault", False) is False
        # The host makes it its default: the copy follows all but that (one default per cluster,
        # and the tenant's stays the virtual one).
        await host.patch(
            PRIORITYCLASSES,
            namespace=None,
            name=name,
            body={"globalDefault": True, "description": "host default"},
        )
        try:
            await _virtual(
                virtual,
                PRIORITYCLASSES,
                name,
                where(lambda o: o.get("description") == "host default"),
            )
            copy = await virtual.get(PRIORITYCLASSES, namespace=None, name=name)
            assert copy.get("globalDefault", False) is False
        finally:
            await host.patch(
                PRIORITYCLASSES, namespace=None, name=name, body={"globalDefault": False}
            )


@pytest.mark.parametrize(
    ("kind", "resource", "fields"),
    [
        (
            "ingressclasses.networking.k8s.io",
            INGRESSCLASSES,
            {"spec": {"controller": "example.com/ingress"}},
        ),
        ("runtimeclasses.node.k8s.io", RUNTIMECLASSES, {"handler": "kata"}),
    ],
)
async def test_host_ingress_and_runtime_classes_are_copied_and_removed(
    kind: str,
    resource: Resource,
    fields: Json,
    namespace: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
    token: str,
    cleanup: list[tuple[str, Any]],
) -> None:
    """The class appears in virtual as on the host (with the copy label) and goes with it."""
    name = f"c-{token}"
    cleanup += [("host", (resource, name)), ("virtual", (resource, name))]
    body = {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {"name": name, "labels": {"e2e-fromhost": token}},
        **fields,
    }
    await host.create(resource, namespace=None, body=body)
    async with run_syncer(
        host_namespace=namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=(kind,),
        from_host_label_selector=f"e2e-fromhost={token}",
    ):
        copy = await _virtual(virtual, resource, name, exists)
        assert copy["metadata"]["labels"] == {"e2e-fromhost": token, FROM_HOST_LABEL: "true"}
        for field, value in fields.items():
            assert copy[field] == value
        await host.delete(resource, namespace=None, name=name)
        await _virtual(virtual, resource, name, gone)
