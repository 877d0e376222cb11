"""The fixes to kwok's kubelet server: each applies exactly once, and the cached kwok has them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.localcluster import kwokpatch
from syncer.localcluster.build import KWOK_VERSION, cache_dir
from syncer.localcluster.gotool import find_go, module_dir


def test_a_hunk_must_match_exactly_once() -> None:
    """Missing or repeated text is a PatchError naming the file, never a silent no-op."""
    hunk = kwokpatch.Hunk(path="a/b.go", old="x := 1\n", new="x := 2\n")
    assert kwokpatch.apply("y\nx := 1\n", hunk) == "y\nx := 2\n"
    for text in ("nothing here\n", "x := 1\nx := 1\n"):
        with pytest.raises(kwokpatch.PatchError, match=r"a/b\.go"):
            kwokpatch.apply(text, hunk)


def test_fixes_apply_to_the_published_module(tmp_path: Path) -> None:
    """On kwok's published source every hunk applies once; the added file is written."""
    source = module_dir(
        go=find_go(),
        module="sigs.k8s.io/kwok",
        version=KWOK_VERSION,
        workdir=tmp_path / "probe",
        log=tmp_path / "log",
    )
    target = tmp_path / "kwok"
    kwokpatch.patched_copy(source=source, target=target)
    for hunk in kwokpatch.HUNKS:
        text = (target / hunk.path).read_text()
        assert hunk.new in text
        assert text == (source / hunk.path).read_text().replace(hunk.old, hunk.new)
    for name, content in kwokpatch.FILES.items():
        assert (target / name).read_text() == content
    # a second copy replaces the first (the copy is writable, unlike the module cache)
    kwokpatch.patched_copy(source=source, target=target)


def test_cached_kwok_is_built_from_the_patched_copy() -> None:
    """The cache records the fixes' revision and builds kwok from its patched copy."""
    root = cache_dir()
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["kwok"] == f"{KWOK_VERSION}+{kwokpatch.REVISION}"
    gomod = (root / "src" / "kwok" / "go.mod").read_text()
    assert f"replace sigs.k8s.io/kwok => {root / 'src' / 'kwok-module'}\n" in gomod
