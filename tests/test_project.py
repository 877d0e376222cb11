"""Project hygiene users look for: one version source, a LICENSE matching the declared
licence, a changelog, and ``py.typed`` shipped in the package (PEP 561)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from syncer import __version__

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_has_one_source() -> None:
    """The package metadata reads its version from syncer.__version__; none is written twice."""
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "syncer.__version__"


def test_the_license_file_is_the_declared_apache_2_0() -> None:
    """LICENSE is the Apache License 2.0 text, as pyproject's licence expression says."""
    text = (ROOT / "LICENSE").read_text()
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_py_typed_ships_with_the_package() -> None:
    """syncer/py.typed exists and is package data, so plugin authors type-check syncer.api."""
    assert (ROOT / "syncer" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["syncer"]


def test_the_changelog_has_an_entry_for_the_current_version() -> None:
    """CHANGELOG.md names the version the package reports."""
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
