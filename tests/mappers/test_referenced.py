"""Referenced copies (secrets, configmaps, PVCs) never serve a colliding namespace's pods."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.configmaps import ConfigMapMapper
from mappers.pvcs import PersistentVolumeClaimMapper
from mappers.references import (
    CONFIGMAP_INDEX,
    PVC_INDEX,
    SECRET_INDEX,
    index_configmaps,
    index_pvcs,
    index_secrets,
)
from mappers.secrets import SecretMapper
from syncer.api import CONFIGMAPS, PODS, PVCS, SECRETS, Refused, Resource
from tests.mappers.fakes import Fake, T, host_copy

Json = dict[str, Any]


def pod(namespace: str, name: str, **spec: Any) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": f"{name}-uid"},
        "spec": {"containers": [{"name": "main", "image": "app:1"}], **spec},
    }


def obj(resource: Resource, namespace: str, name: str) -> Json:
    body: Json = {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {"name": name, "namespace": namespace, "uid": f"{namespace}-{name}"},
    }
    if resource == PVCS:
        body["spec"] = {"accessModes": ["ReadWriteOnce"]}
    else:
        body["data"] = {}
    return body


KINDS = [
    (SECRETS, SecretMapper, SECRET_INDEX, index_secrets),
    (CONFIGMAPS, ConfigMapMapper, CONFIGMAP_INDEX, index_configmaps),
    (PVCS, PersistentVolumeClaimMapper, PVC_INDEX, index_pvcs),
]


def mounting(namespace: str, name: str, resource: Resource, target: str) -> Json:
    source: Json
    if resource == SECRETS:
        source = {"secret": {"secretName": target}}
    elif resource == CONFIGMAPS:
        source = {"configMap": {"name": target}}
    else:
        source = {"persistentVolumeClaim": {"claimName": target}}
    return pod(namespace, name, volumes=[{"name": "v", **source}])


@pytest.mark.parametrize(("resource", "factory", "index", "fn"), KINDS, ids=lambda v: str(v))
async def test_no_copy_under_a_name_a_running_pod_uses_for_a_partner(
    resource: Resource, factory: Any, index: str, fn: Any
) -> None:
    """c's a-x-b is not copied while b-x-c's pod, mounting b-x-c's a, runs on the host."""
    ours = mounting("c", "reader", resource, "a-x-b")
    theirs = mounting("b-x-c", "owner", resource, "a")
    host_pod = host_copy(PODS, namespace="b-x-c", name="owner")
    fake = Fake(
        virtual={"pods": [ours, theirs], resource.plural: [obj(resource, "c", "a-x-b")]},
        host={"pods": [host_pod], resource.plural: []},
    )
    fake.virtual_caches["pods"].indexes[index] = fn
    mapper = fake.bind(factory(translator=T))
    with pytest.raises(Refused) as caught:
        await mapper.sync_to_host(fake.ctx, obj(resource, "c", "a-x-b"))
    assert (caught.value.reason, caught.value.retry_after) == ("reference_collision", 60)
    assert "owner" not in caught.value.message  # the other namespace's pods are not named
    assert fake.calls == []
    # Once that pod runs no more, the name is free for c's own object.
    del fake.host_caches["pods"].objs[(T.host_namespace, host_pod["metadata"]["name"])]
    await mapper.sync_to_host(fake.ctx, obj(resource, "c", "a-x-b"))
    assert fake.calls == [("host", "create", T.host_name("c", "a-x-b"))]
