"""Tests for syncer.isolation_settings: the VSYNCER_ISOLATION* settings and their errors."""

from __future__ import annotations

import pytest

from syncer.errors import ConfigError
from syncer.isolation import spec_from
from syncer.isolation_objects import DEFAULT_LIMITS, DEFAULT_QUOTA
from syncer.settings import load_settings

REQUIRED = {"VSYNCER_VCLUSTER_NAME": "vc1", "VSYNCER_HOST_NAMESPACE": "vc1-host"}


def test_off_by_default_with_vclusters_defaults() -> None:
    settings = load_settings(env=REQUIRED)
    assert settings.isolation is False
    spec = spec_from(settings)
    assert dict(spec.quota) == dict(DEFAULT_QUOTA)
    assert dict(spec.limits) == dict(DEFAULT_LIMITS)
    assert spec.network_policy
    assert spec.public_egress
    assert spec.control_plane_labels == {"release": "vc1"}
    assert spec.pod_security_level is None


def test_every_setting_from_the_environment() -> None:
    settings = load_settings(
        env={
            **REQUIRED,
            "VSYNCER_ISOLATION": "true",
            "VSYNCER_ISOLATION_QUOTA": "count/pods=3, requests.storage=",
            "VSYNCER_ISOLATION_LIMIT_DEFAULT": "cpu=2",
            "VSYNCER_ISOLATION_LIMIT_DEFAULT_REQUEST": "memory=64Mi",
            "VSYNCER_ISOLATION_NETWORK_POLICY": "false",
            "VSYNCER_ISOLATION_PUBLIC_EGRESS": "false",
            "VSYNCER_ISOLATION_ALLOW_CIDRS": "192.0.2.0/24",
            "VSYNCER_ISOLATION_ALLOW_NAMESPACES": "monitoring,ingress",
            "VSYNCER_ISOLATION_CONTROL_PLANE_LABELS": "app=vcluster,release=vc1",
            "VSYNCER_ISOLATION_LABEL_NAMESPACE": "true",
            "VSYNCER_POD_SECURITY_LEVEL": "restricted",
        }
    )
    spec = spec_from(settings)
    assert spec.quota["count/pods"] == "3"
    assert "requests.storage" not in spec.quota
    assert spec.limits["cpu"] == "2"
    assert spec.requests["memory"] == "64Mi"
    assert not spec.network_policy
    assert not spec.public_egress
    assert spec.allow_cidrs == ("192.0.2.0/24",)
    assert spec.allow_namespaces == ("monitoring", "ingress")
    assert spec.control_plane_labels == {"app": "vcluster", "release": "vc1"}
    assert spec.pod_security_level == "restricted"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("VSYNCER_ISOLATION", "maybe", "true or false"),
        ("VSYNCER_ISOLATION_QUOTA", "count/pods=lots", "not a quantity"),
        ("VSYNCER_ISOLATION_QUOTA", "count/pods", "resource=quantity"),
        ("VSYNCER_ISOLATION_LIMIT_DEFAULT", "cpu=1GB", "not a quantity"),
        ("VSYNCER_ISOLATION_ALLOW_CIDRS", "10.0.0/33", "not a CIDR"),
        ("VSYNCER_ISOLATION_ALLOW_NAMESPACES", "Not_A_Namespace", "not a namespace"),
        ("VSYNCER_ISOLATION_CONTROL_PLANE_LABELS", "release", "not a label"),
        ("VSYNCER_ISOLATION_RESYNC", "0", "must be > 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**REQUIRED, variable: value})
    assert caught.value.setting == variable
    assert says in caught.value.message
    assert "\n" not in str(caught.value)
