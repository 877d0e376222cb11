"""The production client fits the ListerWatcher seam (checked by mypy --strict on this module)."""

from __future__ import annotations

from syncer.kube import KubeClient
from syncer.listwatch import ListerWatcher


def fits(client: KubeClient) -> ListerWatcher:
    """mypy proves here that KubeClient satisfies the Protocol the reflector takes."""
    return client


def test_kube_client_is_a_lister_watcher_by_its_methods() -> None:
    """The Protocol's methods all exist on KubeClient (the static proof is ``fits``)."""
    assert all(callable(getattr(KubeClient, name)) for name in ("list", "watch"))
