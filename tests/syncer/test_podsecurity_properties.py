"""Property tests for syncer.podsecurity over pods drawn from a small strategy."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.podsecurity import CONTROLS, LEVELS, check_pod
from tests.syncer.podsecurity_pods import Json, found

flags = st.sampled_from([None, False, True])
names = st.lists(
    st.sampled_from(["CHOWN", "NET_BIND_SERVICE", "SYS_ADMIN", "NET_RAW", "ALL"]), max_size=3
)
profiles = st.sampled_from(["RuntimeDefault", "Localhost", "Unconfined"]).map(lambda t: {"type": t})
selinux = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["", "container_t", "spc_t"]),
        "user": st.sampled_from(["", "system_u"]),
    },
)
common_context = {
    "runAsNonRoot": flags,
    "runAsUser": st.sampled_from([0, 1000]),
    "seccompProfile": profiles,
    "appArmorProfile": profiles,
    "seLinuxOptions": selinux,
    "windowsOptions": st.fixed_dictionaries({"hostProcess": flags}),
}
container_context = st.fixed_dictionaries(
    {},
    optional={
        **common_context,
        "privileged": flags,
        "allowPrivilegeEscalation": flags,
        "procMount": st.sampled_from(["Default", "Unmasked"]),
        "capabilities": st.fixed_dictionaries({}, optional={"add": names, "drop": names}),
    },
)
pod_context = st.fixed_dictionaries(
    {},
    optional={
        **common_context,
        "sysctls": st.lists(
            st.sampled_from(["kernel.shm_rmid_forced", "kernel.msgmax"]).map(
                lambda n: {"name": n, "value": "1"}
            ),
            max_size=2,
        ),
    },
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.just("c"), "image": st.just("nginx")},
        optional={
            "securityContext": container_context,
            "ports": st.lists(
                st.fixed_dictionaries(
                    {"containerPort": st.just(80), "hostPort": st.sampled_from([0, 80])}
                ),
                max_size=2,
            ),
            "startupProbe": st.fixed_dictionaries(
                {
                    "tcpSocket": st.fixed_dictionaries(
                        {"port": st.just(80), "host": st.sampled_from(["", "h"])}
                    )
                }
            ),
        },
    ),
    min_size=1,
    max_size=2,
)
volumes = st.lists(
    st.sampled_from(
        [
            {"name": "v", "emptyDir": {}},
            {"name": "v", "image": {"reference": "x"}},
            {"name": "v", "hostPath": {"path": "/var/log"}},
            {"name": "v", "nfs": {"server": "s", "path": "/"}},
        ]
    ),
    max_size=3,
)
tolerations = st.lists(
    st.sampled_from(
        [{"operator": "Exists"}, {"key": "k", "operator": "Exists"}, {"key": "k", "value": "v"}]
    ),
    max_size=2,
)
pods = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {"name": st.just("p")},
            optional={
                "annotations": st.dictionaries(
                    st.sampled_from(["container.apparmor.security.beta.kubernetes.io/c", "note"]),
                    st.sampled_from(["runtime/default", "unconfined", "localhost/p"]),
                )
            },
        ),
        "spec": st.fixed_dictionaries(
            {"containers": containers},
            optional={
                "initContainers": containers,
                "ephemeralContainers": containers,
                "hostNetwork": flags,
                "hostPID": flags,
                "hostUsers": flags,
                "os": st.sampled_from([{"name": "linux"}, {"name": "windows"}]),
                "securityContext": pod_context,
                "volumes": volumes,
                "tolerations": tolerations,
            },
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(pod=pods)
def test_allowing_every_control_allows_every_pod(pod: Json) -> None:
    """With every control on the allow-list, no pod is refused at any level."""
    for level in LEVELS:
        assert check_pod(pod, level=level, allow=CONTROLS) == []


@settings(max_examples=300, deadline=None)
@given(pod=pods)
def test_restricted_refuses_everything_baseline_refuses(pod: Json) -> None:
    """Violations at restricted are a superset of those at baseline; the pod is not changed."""
    before = copy.deepcopy(pod)
    baseline = set(found(pod, level="baseline"))
    restricted = check_pod(pod, level="restricted")
    assert baseline <= {(v.control, v.field) for v in restricted}
    assert all(v.control in CONTROLS and v.message.startswith(f"{v.field}: ") for v in restricted)
    assert all("\n" not in v.message for v in restricted)
    assert pod == before
