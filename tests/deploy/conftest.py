"""tests/deploy renders the chart with the Helm the local build makes: marked e2e (make test)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/deploy/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
