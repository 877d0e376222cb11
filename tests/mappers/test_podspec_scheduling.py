"""Pod translation of scheduling: nodeName, affinity and topology spread, one row per rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mappers.podspec import (
    PodEnvironment,
)
from syncer.api import (
    MANAGED_BY_LABEL,
    NAMESPACE_LABEL,
)
from tests.mappers.fakes import T
from tests.mappers.podspec_support import ENV, Json, assert_row, v_pod

CASES: list[tuple[str, Json, PodEnvironment, Callable[[Json], object], object]] = [
    ("a tenant-set nodeName is kept", v_pod(nodeName="n1"), ENV, lambda s: s["nodeName"], "n1"),
    (
        "pod affinity selectors are confined to the vcluster and namespace",
        v_pod(
            affinity={
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}
                    ]
                }
            }
        ),
        ENV,
        lambda s: s["affinity"]["podAntiAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ][0]["labelSelector"],
        {"matchLabels": {"app": "web", MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"}},
    ),
    (
        "affinity terms naming namespaces select those virtual namespaces",
        v_pod(
            affinity={
                "podAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 1,
                            "podAffinityTerm": {
                                "labelSelector": {"matchLabels": {"app": "db"}},
                                "namespaces": ["b", "a"],
                                "topologyKey": "zone",
                            },
                        }
                    ]
                }
            }
        ),
        ENV,
        lambda s: s["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][
            0
        ]["podAffinityTerm"],
        {
            "labelSelector": {
                "matchLabels": {"app": "db", MANAGED_BY_LABEL: "vc"},
                "matchExpressions": [
                    {"key": NAMESPACE_LABEL, "operator": "In", "values": ["a", "b"]}
                ],
            },
            "topologyKey": "zone",
        },
    ),
    (
        "a namespaceSelector becomes a selector over the copied namespace labels",
        v_pod(
            affinity={
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "labelSelector": {"matchLabels": {"app": "db"}},
                            "namespaceSelector": {"matchLabels": {"team": "blue"}},
                            "topologyKey": "zone",
                        }
                    ]
                }
            }
        ),
        ENV,
        lambda s: s["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
            "labelSelector"
        ]["matchLabels"],
        {"app": "db", MANAGED_BY_LABEL: "vc", T.namespace_label_key("team"): "blue"},
    ),
    (
        "topology spread selectors are translated",
        v_pod(
            topologySpreadConstraints=[
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"release": "r1"}},
                }
            ]
        ),
        ENV,
        lambda s: s["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
        {T.translate_label_key("release"): "r1", MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"},
    ),
]


@pytest.mark.parametrize(
    ("rule", "pod", "env", "read", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_spec_translation(
    rule: str, pod: Json, env: PodEnvironment, read: Callable[[Json], object], expected: object
) -> None:
    """Each pod rule, one row."""
    assert_row(rule, pod, env, read, expected)
