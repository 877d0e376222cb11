"""Everything under tests/e2e runs against the real local control plane.

Fixtures shared by the e2e modules live here: ``v_ns``, a fresh virtual
namespace per test, removed afterwards (a module needing other labels on it
defines its own ``v_ns``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncer.kube import KubeClient
from tests.e2e.test_sync_support import tenant_namespace


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
async def v_ns(virtual: KubeClient) -> AsyncIterator[str]:
    async with tenant_namespace(virtual) as name:
        yield name
