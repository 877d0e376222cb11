"""What a host pod runs as: its priority class by direction, and the wait for a class's copy."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.podidentity import PodIdentity, PriorityClasses
from mappers.podspec import PodEnvironment, translate_pod
from mappers.priorityclasses_tohost import PriorityClassMapper
from syncer.api import PRIORITYCLASSES, SERVICEACCOUNTS, MapperConfig, Result
from syncer.kit.testing import TRANSLATOR as T
from syncer.kit.testing import FakeCache, FakeContext

Json = dict[str, Any]
TO_HOST = MapperConfig(to_host_priority_classes=True)
FROM_HOST = MapperConfig(kinds=("pods", PRIORITYCLASSES.qualified))


def v_pod(**spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"},
        "spec": {"containers": [{"name": "main", "image": "app:1"}], **spec},
    }


@pytest.mark.parametrize(
    ("config", "name", "host"),
    [
        (TO_HOST, "high", T.host_cluster_name("high")),
        (TO_HOST, "system-node-critical", "system-node-critical"),
        (FROM_HOST, "high", "high"),
        (MapperConfig(), "high", None),
        (TO_HOST, None, None),
    ],
    ids=["toHost-renamed", "system-kept", "fromHost-kept", "not-synced-dropped", "none"],
)
def test_the_host_priority_class_by_direction(
    config: MapperConfig, name: str | None, host: str | None
) -> None:
    identity = PodIdentity.of(config=config, translator=T)
    pod = v_pod(priorityClassName=name, priority=7, preemptionPolicy="Never")
    if name is None:
        del pod["spec"]["priorityClassName"]
    assert identity.priority_class(pod) == host
    env = PodEnvironment(priority_class=identity.priority_class(pod))
    spec = translate_pod(pod, translator=T, env=env)["spec"]
    assert spec.get("priorityClassName") == host
    assert "priority" not in spec
    assert "preemptionPolicy" not in spec


def test_direction_of_config() -> None:
    assert PriorityClasses.of(TO_HOST) is PriorityClasses.TO_HOST
    assert PriorityClasses.of(FROM_HOST) is PriorityClasses.FROM_HOST
    assert PriorityClasses.of(MapperConfig()) is PriorityClasses.NONE


async def test_a_pod_waits_for_its_class_copy_then_runs() -> None:
    """No host copy yet: a growing wait and one Warning event; once this vcluster's copy of
    that very class is in the host cache the workload account is made sure of."""
    identity = PodIdentity.of(config=TO_HOST, translator=T)
    fake = FakeContext(virtual={}, enabled=[PRIORITYCLASSES], reads=[PRIORITYCLASSES])
    pod = v_pod(priorityClassName="high")
    assert await identity.ensure(fake.ctx, pod) == Result(requeue_after=1.0)
    assert await identity.ensure(fake.ctx, pod) == Result(requeue_after=2.0)
    assert fake.events == [("Warning", "WaitingForReferences")]
    assert fake.calls == []

    # A host class of that name that is not the copy of exactly "high" does not count.
    mapper = PriorityClassMapper(translator=T)
    other = mapper.desired_host(fake.ctx, _class("other"), None)
    assert other is not None
    other["metadata"]["name"] = T.host_cluster_name("high")
    fake.host_caches["priorityclasses"] = FakeCache([other])
    assert isinstance(await identity.ensure(fake.ctx, pod), Result)

    copy = mapper.desired_host(fake.ctx, _class("high"), None)
    assert copy is not None
    fake.host_caches["priorityclasses"] = FakeCache([copy])
    assert await identity.ensure(fake.ctx, pod) is None
    assert fake.calls == [("host", "get", "vc-workload-vc"), ("host", "create", "vc-workload-vc")]
    assert fake.host.created[0]["kind"] == SERVICEACCOUNTS.kind


async def test_system_and_fromhost_classes_never_wait() -> None:
    fake = FakeContext(virtual={}, enabled=[PRIORITYCLASSES], reads=[])
    for config, name in ((TO_HOST, "system-cluster-critical"), (FROM_HOST, "high")):
        identity = PodIdentity.of(config=config, translator=T)
        assert identity.missing(fake.ctx, v_pod(priorityClassName=name)) == []


def _class(name: str) -> Json:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name, "uid": f"u-{name}"},
        "value": 10,
    }
