"""Tests for syncer.boundary_settings: the runtime classes tenant pods may name."""

from __future__ import annotations

from syncer.mappersettings import mapper_config
from syncer.settings import load_settings
from tests.syncer.test_settings import config_error, env


def test_pod_runtime_classes_reach_the_mappers() -> None:
    """Comma-separated in the environment; none by default; handed on in MapperConfig."""
    assert load_settings(env=env()).pod_runtime_classes == ()
    settings = load_settings(env=env(pod_runtime_classes="gvisor, kata.example.com"))
    assert settings.pod_runtime_classes == ("gvisor", "kata.example.com")
    assert mapper_config(settings).pod_runtime_classes == ("gvisor", "kata.example.com")


def test_a_bad_runtime_class_name_names_the_setting() -> None:
    error = config_error(env(pod_runtime_classes="gvisor,Bad_Class"))
    assert error.setting == "VSYNCER_POD_RUNTIME_CLASSES"
    assert "'Bad_Class' is not a RuntimeClass name" in str(error)
