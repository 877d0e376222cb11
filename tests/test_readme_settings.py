"""The README's settings table documents every setting, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from syncer.settings import Settings, env_name

README = Path(__file__).resolve().parents[1] / "README.md"
HEADER = "| setting | default | meaning |"
VARIABLE = re.compile(r"`(VSYNCER_[A-Z0-9_]+)`")


def documented() -> set[str]:
    """The variables named in the first column of the settings table's rows."""
    lines = README.read_text().splitlines()
    start = lines.index(HEADER) + 2
    names: set[str] = set()
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        names.update(VARIABLE.findall(line.split("|")[1]))
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    """Each Settings field's VSYNCER_* variable has a row (full names, no ``_SUFFIX`` shorthand)."""
    missing = sorted(env_name(f) for f in Settings.model_fields if env_name(f) not in documented())
    assert missing == []


def test_the_table_names_only_settings() -> None:
    """No row documents a variable that is no longer a setting."""
    known = {env_name(field) for field in Settings.model_fields}
    assert sorted(documented() - known) == []
