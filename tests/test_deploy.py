"""The image: a pinned, labelled, non-root Containerfile whose entrypoint composes with the
chart's arguments into a command line vsyncer's own parser accepts."""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path

import pytest

from syncer import cli

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _exec_form(instruction: str) -> list[str]:
    (value,) = [rest for name, rest in _instructions() if name == instruction]
    parsed = json.loads(value)  # the exec form: no shell between the runtime and vsyncer
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


def _parsed(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    """``argv`` (after the program) through cli.main's own parser, stopping before it runs."""
    seen: list[argparse.Namespace] = []

    def capture(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(cli, "_run", capture)
    assert cli.main(argv) == 0
    (args,) = seen
    return args


def test_base_images_are_pinned_by_digest() -> None:
    stages = [rest for name, rest in _instructions() if name == "FROM"]
    assert len(stages) == 2
    for stage in stages:
        assert re.fullmatch(r"\S+:3\.11-slim@sha256:[0-9a-f]{64}( AS \w+)?", stage), stage


def test_oci_labels_non_root_and_no_healthcheck() -> None:
    """OCI labels (the license is pyproject's), a numeric non-root user, no HEALTHCHECK:
    Kubernetes probes /healthz and /readyz instead."""
    labels = " ".join(rest for name, rest in _instructions() if name == "LABEL")
    keys = set(re.findall(r"(org\.opencontainers\.image\.[a-z.]+)=", labels))
    assert {"title", "description", "version", "revision", "licenses"} <= {
        key.removeprefix("org.opencontainers.image.") for key in keys
    }
    license_ = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert f'org.opencontainers.image.licenses="{license_}"' in labels
    (user,) = [rest for name, rest in _instructions() if name == "USER"]
    assert re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user)
    assert "HEALTHCHECK" not in {name for name, _ in _instructions()}


def test_entrypoint_is_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert _exec_form("ENTRYPOINT") == ["vsyncer"]
    assert scripts["vsyncer"] == "syncer.cli:main"


def test_image_default_command_runs_the_syncer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``docker run IMAGE`` = ENTRYPOINT + CMD = ``vsyncer run``."""
    argv = _exec_form("ENTRYPOINT") + _exec_form("CMD")
    assert _parsed(argv[1:], monkeypatch).command == "run"


@pytest.mark.e2e
def test_chart_args_compose_with_the_entrypoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart's vsyncer container keeps the entrypoint (no ``command``) and its ``args``
    complete it to ``vsyncer run`` (rendered by Helm; needs the built Helm, hence e2e)."""
    from tests.deploy.chart_support import container, render

    for values in (None, {"controlPlane": {"distro": "k3s"}}):
        syncer = container(render(values), "vsyncer")
        assert "command" not in syncer
        argv = _exec_form("ENTRYPOINT") + [str(a) for a in syncer["args"]]
        args = _parsed(argv[1:], monkeypatch)
        assert args.command == "run"
        assert args.config is None


def test_the_parser_refuses_a_doubled_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the composition check guards against: ``vsyncer run run`` exits 2."""
    with pytest.raises(SystemExit) as info:
        _parsed(["run", "run"], monkeypatch)
    assert info.value.code == 2
