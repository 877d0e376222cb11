"""Tests for syncer.kind_settings: toHost priority classes, ingress and budget settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.kind_settings import PRIORITY_CLASSES_KIND
from syncer.settings import DEFAULT_KINDS, load_settings
from tests.syncer.test_cli import environment, one_line_exit_2, vsyncer
from tests.syncer.test_settings import config_error, env


def test_defaults() -> None:
    settings = load_settings(env=env())
    assert settings.to_host_priority_classes is False
    assert settings.kinds == DEFAULT_KINDS
    assert (settings.ingress_hosts, settings.ingress_classes) == ((), ())
    assert settings.pdb_no_disruption == "clamp"


@pytest.mark.parametrize("kinds", [None, "pods,services"])
def test_to_host_priority_classes_run_their_kind(kinds: str | None) -> None:
    """The kind joins VSYNCER_KINDS (given or the default) without being listed."""
    extra = {"to_host_priority_classes": "true"} | ({"kinds": kinds} if kinds else {})
    settings = load_settings(env=env(**extra))
    listed = tuple(kinds.split(",")) if kinds else DEFAULT_KINDS
    assert settings.kinds == (*listed, PRIORITY_CLASSES_KIND)


def test_both_directions_of_priority_classes_are_refused(tmp_path: Path) -> None:
    """As vcluster: toHost and fromHost priority classes exclude each other."""
    both = env(to_host_priority_classes="1", kinds=f"pods,{PRIORITY_CLASSES_KIND}")
    error = config_error(both)
    assert error.setting == "VSYNCER_TO_HOST_PRIORITY_CLASSES"
    assert "sync one way only" in str(error)
    file = tmp_path / "settings.yaml"
    file.write_text(f"to_host_priority_classes: true\nkinds: [pods, {PRIORITY_CLASSES_KIND}]\n")
    assert config_error(env(), config_file=file).setting == "VSYNCER_TO_HOST_PRIORITY_CLASSES"


def test_both_directions_exit_2_with_one_line(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {}\n")
    variables = environment(
        kubeconfig, to_host_priority_classes="true", kinds=f"pods,{PRIORITY_CLASSES_KIND}"
    )
    line = one_line_exit_2(vsyncer("run", env=variables), "VSYNCER_TO_HOST_PRIORITY_CLASSES")
    assert PRIORITY_CLASSES_KIND in line


@pytest.mark.parametrize(
    ("setting", "value", "needle"),
    [
        ("ingress_hosts", "*.a.example.com,Bad_Host", "not a host name pattern"),
        ("ingress_classes", "nginx,-x", "not an IngressClass name"),
        ("pdb_no_disruption", "sometimes", "clamp"),
        ("to_host_priority_classes", "maybe", "true or false"),
    ],
)
def test_bad_values_name_the_setting(setting: str, value: str, needle: str) -> None:
    error = config_error(env(**{setting: value}))
    assert error.setting == f"VSYNCER_{setting.upper()}"
    assert needle in str(error)


def test_lists_from_the_environment() -> None:
    settings = load_settings(
        env=env(ingress_hosts="*.a.example.com, shop.example.com", ingress_classes="nginx")
    )
    assert settings.ingress_hosts == ("*.a.example.com", "shop.example.com")
    assert settings.ingress_classes == ("nginx",)
