"""The chart's toHost priority classes: a ClusterRole writing them only while on, never
together with the fromHost copies."""

from __future__ import annotations

from tests.deploy.chart_support import container, env_of, render, render_failure, role_rules
from tests.deploy.hostaccess import (
    DEFAULT,
    TO_HOST_PRIORITY_CLASSES,
    expected_cluster_role,
    expected_role,
    merged,
)


def test_to_host_priority_classes_get_a_cluster_role_and_the_setting() -> None:
    """On: the default kinds' rules plus priority classes written cluster-wide; the setting is
    passed and the kind is not listed in VSYNCER_KINDS (the daemon adds it)."""
    objects = render({"sync": {"priorityclassesToHost": {"enabled": True}}})
    assert role_rules(objects) == {k: set(v) for k, v in expected_role(DEFAULT).items()}
    cluster = merged([expected_cluster_role(DEFAULT), TO_HOST_PRIORITY_CLASSES])
    assert role_rules(objects, "ClusterRole") == {k: set(v) for k, v in cluster.items()}
    env = env_of(container(objects, "vsyncer"))
    assert env["VSYNCER_TO_HOST_PRIORITY_CLASSES"] == "true"
    assert "priorityclasses" not in env["VSYNCER_KINDS"]


def test_off_grants_nothing_for_priority_classes() -> None:
    objects = render()
    assert ("scheduling.k8s.io", "priorityclasses") not in role_rules(objects, "ClusterRole")
    assert env_of(container(objects, "vsyncer"))["VSYNCER_TO_HOST_PRIORITY_CLASSES"] == "false"


def test_both_directions_do_not_render() -> None:
    error = render_failure(
        {"sync": {"priorityclassesToHost": {"enabled": True}, "priorityclasses": {"enabled": True}}}
    )
    assert "sync.priorityclassesToHost.enabled: priority classes sync one way only" in error
