"""The owner anchor a test's syncer needs: the host Service named like its vcluster.

vsyncer creates a host object only once it can read its anchor
(:mod:`syncer.owneranchor`); in production the chart creates that Service, in
the tests the harness that starts a syncer does, with this helper.
"""

from __future__ import annotations

from pathlib import Path

from syncer.errors import AlreadyExists
from syncer.kube import KubeClient
from syncer.owneranchor import stand_in
from syncer.resources import SERVICES
from syncer.settings import Settings


async def create_owner_anchor(host: KubeClient | Path, *, namespace: str, vcluster: str) -> None:
    """Create the stand-in anchor Service ``vcluster`` in ``namespace``; already there is fine.

    ``host``: a client of the host cluster, or its kubeconfig.
    """
    client = (
        await KubeClient.connect(cluster="host", kubeconfig=str(host))
        if isinstance(host, Path)
        else host
    )
    try:
        await client.create(
            SERVICES, namespace=namespace, body=stand_in(namespace=namespace, name=vcluster)
        )
    except AlreadyExists:
        pass
    finally:
        if client is not host:
            await client.close()


async def create_owner_anchor_for(settings: Settings) -> None:
    """The anchor the daemon of ``settings`` will look for (none with ``set_owner`` off)."""
    if not settings.set_owner:
        return
    assert settings.host_kubeconfig is not None, "the tests' syncers use a host kubeconfig"
    await create_owner_anchor(
        settings.host_kubeconfig,
        namespace=settings.host_namespace,
        vcluster=settings.owner_anchor or settings.vcluster_name,
    )
