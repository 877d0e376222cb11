"""NetworkPolicies: the spec goes down translated and confined; unknown fields are refused."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.networkpolicies import NetworkPolicyMapper, host_policy_spec
from syncer.api import DONE, MANAGED_BY_LABEL, NAMESPACE_LABEL, NETWORKPOLICIES, Refused
from syncer.kit.testing import TRANSLATOR as T
from syncer.kit.testing import FakeContext
from syncer.mappersettings import mapper_config
from syncer.settings import load_settings

Json = dict[str, Any]
MINE = {MANAGED_BY_LABEL: "vc", NAMESPACE_LABEL: "shop"}
TEAM = T.namespace_label_key("team")


def v_policy(**spec: Any) -> Json:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"namespace": "shop", "name": "deny", "uid": "v-uid", "labels": {"a": "b"}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], **spec},
    }


CASES: list[tuple[str, Json, Json]] = [
    (
        "empty podSelector: every pod of the namespace, nothing else",
        {"podSelector": {}, "policyTypes": ["Ingress"]},
        {"podSelector": {"matchLabels": MINE}, "policyTypes": ["Ingress"]},
    ),
    (
        "podSelector keys translated, reserved keys renamed",
        {"podSelector": {"matchLabels": {"app": "web", "release": "1"}}},
        {
            "podSelector": {
                "matchLabels": {"app": "web", T.translate_label_key("release"): "1", **MINE}
            }
        },
    ),
    (
        "a podSelector peer: pods of the policy's namespace",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "fe"}}}],
                    "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}],
                }
            ],
        },
        {
            "podSelector": {"matchLabels": MINE},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "fe", **MINE}}}],
                    "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}],
                }
            ],
        },
    ),
    (
        "namespaceSelector {}: every pod of this vcluster",
        {"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}}]}]},
        {
            "podSelector": {"matchLabels": MINE},
            "egress": [{"to": [{"podSelector": {"matchLabels": {MANAGED_BY_LABEL: "vc"}}}]}],
        },
    ),
    (
        "namespaceSelector and podSelector: the copied namespace labels",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"team": "a"},
                                "matchExpressions": [{"key": "team", "operator": "Exists"}],
                            },
                            "podSelector": {"matchLabels": {"role": "db"}},
                        }
                    ]
                }
            ],
        },
        {
            "podSelector": {"matchLabels": MINE},
            "ingress": [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchLabels": {"role": "db", TEAM: "a", MANAGED_BY_LABEL: "vc"},
                                "matchExpressions": [{"key": TEAM, "operator": "Exists"}],
                            }
                        }
                    ]
                }
            ],
        },
    ),
    (
        "ipBlock kept",
        {
            "podSelector": {},
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
        },
        {
            "podSelector": {"matchLabels": MINE},
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
        },
    ),
    (
        "a rule without peers (everyone) stays so",
        {"podSelector": {}, "ingress": [{}]},
        {"podSelector": {"matchLabels": MINE}, "ingress": [{}]},
    ),
]


@pytest.mark.parametrize(("spec", "host"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_host_policy_spec(spec: Json, host: Json) -> None:
    assert host_policy_spec(spec, namespace="shop", translator=T) == host


@pytest.mark.parametrize(
    ("spec", "reason", "path"),
    [
        ({"podSelector": {}, "future": 1}, "unknown_field", "spec.future"),
        ({"podSelector": {}, "ingress": [{"to": []}]}, "unknown_field", "spec.ingress[0].to"),
        (
            {"podSelector": {}, "ingress": [{"from": [{"hostNetwork": True}]}]},
            "unknown_field",
            "spec.ingress[0].from[0].hostNetwork",
        ),
        (
            {"podSelector": {}, "egress": [{"ports": [{"port": 1, "range": 2}]}]},
            "unknown_field",
            "spec.egress[0].ports[0].range",
        ),
        (
            {"podSelector": {}, "egress": [{"to": [{}]}]},
            "network_policy_peer",
            "spec.egress[0].to[0]",
        ),
        (
            {
                "podSelector": {},
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}, "namespaceSelector": {}}]}],
            },
            "network_policy_peer",
            "spec.egress[0].to[0]",
        ),
        (
            {"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {"matchFields": []}}]}]},
            "unknown_field",
            "spec.egress[0].to[0].namespaceSelector.matchFields",
        ),
    ],
)
def test_what_must_not_reach_the_host_is_refused(spec: Json, reason: str, path: str) -> None:
    with pytest.raises(Refused) as refused:
        host_policy_spec(spec, namespace="shop", translator=T)
    assert refused.value.reason == reason
    assert refused.value.message.startswith(path + ":")


async def test_created_updated_and_deleted_with_the_virtual_policy() -> None:
    mapper = NetworkPolicyMapper(translator=T)
    v_obj = v_policy()
    fake = FakeContext(virtual={}, enabled=[NETWORKPOLICIES])
    assert await mapper.sync_to_host(fake.ctx, v_obj) == DONE
    [created] = fake.host.created
    assert created["metadata"]["name"] == T.host_name("shop", "deny")
    assert created["metadata"]["labels"] == {"a": "b", **MINE}
    assert created["spec"]["podSelector"] == {"matchLabels": MINE}
    assert mapper.drift(fake.ctx, v_obj, created) is None

    changed = v_policy(podSelector={"matchLabels": {"app": "web"}})
    assert mapper.drift(fake.ctx, changed, created) == "spec"
    assert await mapper.sync(fake.ctx, changed, created) == DONE
    [updated] = fake.host.updated
    assert updated["spec"]["podSelector"] == {"matchLabels": {"app": "web", **MINE}}

    gone = FakeContext(virtual={}, enabled=[NETWORKPOLICIES])
    key = mapper.host_to_virtual(created)
    assert key is not None
    assert await mapper.sync_to_virtual(gone.ctx, key, created) == DONE
    assert gone.calls == [("host", "delete(grace=None)", T.host_name("shop", "deny"))]


async def test_a_refused_update_leaves_the_host_copy_and_is_no_drift() -> None:
    mapper = NetworkPolicyMapper(translator=T)
    fake = FakeContext(virtual={}, enabled=[NETWORKPOLICIES])
    await mapper.sync_to_host(fake.ctx, v_policy())
    [p_obj] = fake.host.created
    bad = v_policy(ingress=[{"from": [{}]}])
    with pytest.raises(Refused):
        await mapper.sync(fake.ctx, bad, p_obj)
    assert fake.calls == [("host", "create", T.host_name("shop", "deny"))]
    assert mapper.drift(fake.ctx, bad, p_obj) is None


ISOLATED = mapper_config(
    load_settings(
        env={
            "VSYNCER_VCLUSTER_NAME": "vc",
            "VSYNCER_HOST_NAMESPACE": "h",
            "VSYNCER_ISOLATION": "true",
            "VSYNCER_ISOLATION_ALLOW_CIDRS": "10.20.0.0/16",
        }
    )
)
PRIVATE = ["100.64.0.0/10", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


@pytest.mark.parametrize(
    ("spec", "path", "address"),
    [
        (
            {"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
            "spec.egress[0].to[0].ipBlock",
            "10.0.0.0",
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "192.168.1.0/24"}}]}]},
            "spec.ingress[0].from[0].ipBlock",
            "192.168.1.0",
        ),
        ({"egress": [{}]}, "spec.egress[0].to", "every address"),
        ({"ingress": [{"from": []}]}, "spec.ingress[0].from", "every address"),
    ],
)
def test_with_isolation_a_policy_admitting_private_addresses_is_refused(
    spec: Json, path: str, address: str
) -> None:
    """Policies add up: one that admits what the isolation policy keeps out would cancel it."""
    with pytest.raises(Refused) as refused:
        host_policy_spec(
            {"podSelector": {}, **spec},
            namespace="shop",
            translator=T,
            fence=ISOLATED.isolation_ip_fence,
        )
    assert refused.value.reason == "network_policy_isolation"
    assert refused.value.message.startswith(f"{path}: admits {address},")


@pytest.mark.parametrize(
    "block",
    [
        {"cidr": "0.0.0.0/0", "except": PRIVATE},
        {"cidr": "203.0.113.0/24"},
        {"cidr": "10.20.3.0/24"},
    ],
)
def test_with_isolation_public_and_allow_listed_blocks_pass(block: Json) -> None:
    spec = {"podSelector": {}, "egress": [{"to": [{"ipBlock": block}]}]}
    host = host_policy_spec(spec, namespace="shop", translator=T, fence=ISOLATED.isolation_ip_fence)
    assert host["egress"] == [{"to": [{"ipBlock": block}]}]


def test_without_isolation_there_is_no_fence() -> None:
    assert (
        mapper_config(
            load_settings(env={"VSYNCER_VCLUSTER_NAME": "vc", "VSYNCER_HOST_NAMESPACE": "h"})
        ).isolation_ip_fence
        is None
    )
    spec = {"podSelector": {}, "egress": [{}, {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}
    assert host_policy_spec(spec, namespace="shop", translator=T)["egress"] == spec["egress"]
