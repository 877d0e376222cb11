"""Pod translation of name resolution: hostname, DNS and the API server's service, one row each."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mappers.podspec import (
    DEFAULT_NAMESERVER,
    PodEnvironment,
    kubernetes_env,
    pod_hostname,
    translate_pod,
)
from tests.mappers.fakes import T
from tests.mappers.podspec_support import ENV, Json, assert_row, container, v_pod

CASES: list[tuple[str, Json, PodEnvironment, Callable[[Json], object], object]] = [
    ("hostname is the virtual name", v_pod(), ENV, lambda s: s["hostname"], "web"),
    ("an explicit hostname stays", v_pod(hostname="h1"), ENV, lambda s: s["hostname"], "h1"),
    (
        "ClusterFirst becomes None with the virtual DNS",
        v_pod(),
        ENV,
        lambda s: (s["dnsPolicy"], s["dnsConfig"]),
        (
            "None",
            {
                "nameservers": ["10.0.0.10"],
                "searches": ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
                "options": [{"name": "ndots", "value": "5"}],
            },
        ),
    ),
    (
        "the tenant's dnsConfig follows ours; its ndots wins",
        v_pod(dnsConfig={"searches": ["corp"], "options": [{"name": "ndots", "value": "2"}]}),
        ENV,
        lambda s: (s["dnsConfig"]["searches"][-1], s["dnsConfig"]["options"]),
        ("corp", [{"name": "ndots", "value": "2"}]),
    ),
    (
        "dnsPolicy Default stays",
        v_pod(dnsPolicy="Default"),
        ENV,
        lambda s: (s["dnsPolicy"], "dnsConfig" in s),
        ("Default", False),
    ),
    (
        "ClusterFirst with hostNetwork stays (it means Default)",
        v_pod(hostNetwork=True),
        ENV,
        lambda s: s.get("dnsPolicy"),
        None,
    ),
    (
        "the API server's service reaches the pod as env and host aliases",
        v_pod(),
        PodEnvironment(api_host="10.96.0.1", api_port=443),
        lambda s: (container(s)["env"][0], s["hostAliases"][0]["ip"]),
        ({"name": "KUBERNETES_SERVICE_HOST", "value": "10.96.0.1"}, "10.96.0.1"),
    ),
    (
        "the tenant's own KUBERNETES_SERVICE_HOST wins",
        v_pod(
            containers=[
                {
                    "name": "m",
                    "image": "i",
                    "env": [{"name": "KUBERNETES_SERVICE_HOST", "value": "x"}],
                }
            ]
        ),
        PodEnvironment(api_host="10.96.0.1"),
        lambda s: [
            e["value"] for e in container(s)["env"] if e["name"] == "KUBERNETES_SERVICE_HOST"
        ],
        ["x"],
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


def test_defaults_and_helpers() -> None:
    """Placeholder nameserver; hostname from dotted/long names; the service env shape."""
    spec = translate_pod(v_pod(), translator=T, env=PodEnvironment())["spec"]
    assert spec["dnsConfig"]["nameservers"] == [DEFAULT_NAMESERVER]
    assert pod_hostname("a.b.c") == "a-b-c"
    assert pod_hostname("x" * 62 + "-y") == "x" * 62
    names = [e["name"] for e in kubernetes_env("10.0.0.1", 6443)]
    assert "KUBERNETES_PORT_6443_TCP_ADDR" in names
