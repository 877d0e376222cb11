"""Building the control plane: clear one-line errors, and the staging list read from the tag."""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from syncer.localcluster.build import BuildError, Component, Progress, build

# The package re-exports the function ``build``, which shadows the module's name.
build_mod = importlib.import_module("syncer.localcluster.build")


def test_missing_go_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without Go on PATH and with nothing cached, the error says so on one line."""
    monkeypatch.setenv("VSYNCER_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BuildError) as info:
        build(progress=lambda _m: None)
    message = str(info.value)
    assert "\n" not in message
    assert "Go toolchain" in message


def test_failed_build_names_its_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A failing go command surfaces as one line naming the log file, which exists."""
    monkeypatch.setenv("VSYNCER_CACHE_DIR", str(tmp_path))

    def failing(argv: Sequence[str], cwd: Path, log: Path, progress: Progress, label: str) -> int:
        log.write_text("simulated failure\n")
        return 1

    original = build_mod.components

    def without_kubernetes(*, replaces: dict[str, str]) -> list[Component]:
        return [c for c in original(replaces=replaces) if c.name != "kubernetes"]

    monkeypatch.setattr(build_mod, "components", without_kubernetes)
    with pytest.raises(BuildError) as info:
        build(progress=lambda _m: None, runner=failing)
    message = str(info.value)
    assert "\n" not in message
    log = Path(re.sub(r".*log: ", "", message))
    assert log.is_file()
    assert log.read_text() == "simulated failure\n"


def test_generated_module_replaces_every_staging_requirement() -> None:
    """The cached build module replaces exactly the tag's v0.0.0 k8s.io requirements."""
    cached = build_mod.cached()
    if cached is None:
        pytest.fail("the control plane must be built before the tests (make test builds it)")
    src = build_mod.cache_dir() / "src" / "kubernetes" / "go.mod"
    replaced = set(re.findall(r"^\t(k8s\.io/\S+) => \1 v0\.36\.3$", src.read_text(), re.M))
    assert len(replaced) > 20
    assert {"k8s.io/api", "k8s.io/apiserver", "k8s.io/client-go", "k8s.io/kubectl"} <= replaced


def test_concurrent_builds_run_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second build waits for the first, then finds its result instead of building again."""
    monkeypatch.setenv("VSYNCER_CACHE_DIR", str(tmp_path))
    tool = Component(
        name="tool", module="example.com/tool", version="v1.0.0", packages={"tool": "x/cmd/tool"}
    )
    monkeypatch.setattr(build_mod, "components", lambda *, replaces: [tool])
    waiting = threading.Event()
    go_builds: list[Sequence[str]] = []

    def runner(argv: Sequence[str], cwd: Path, log: Path, progress: Progress, label: str) -> int:
        # Hold the first build until the other one reports that it waits for the lock.
        assert waiting.wait(30), "the second build never waited for the first"
        if "build" in argv:
            go_builds.append(argv)
            Path(argv[list(argv).index("-o") + 1]).write_text("a binary\n")
        return 0

    def progress(message: str) -> None:
        if "waiting" in message:
            waiting.set()

    results: list[tuple[str, ...]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(build(progress=progress, runner=runner).built)
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [(), ("tool",)]
    assert len(go_builds) == 1
