"""Hostile payloads end to end: a 1 MiB configmap, unicode and NUL values, claims cloning
what is not their namespace's.

As in :mod:`tests.e2e.test_hostile_tenant`: one real daemon for the module, and
a :class:`HostSnapshot` before and after each input proves that no host object
vsyncer does not own was written, deleted or imitated.
"""

from __future__ import annotations

from typing import Any

import pytest

from syncer.daemon import Daemon
from syncer.errors import Invalid
from syncer.kube import KubeClient
from syncer.resources import (
    CONFIGMAPS,
    PODS,
    PVCS,
)
from syncer.translate import (
    Translator,
)
from tests.e2e import hostile_fixtures
from tests.e2e.hostile_fixtures import (
    copy_of,
    snapshot,
)
from tests.e2e.hostile_inputs import (
    claim,
    configmap,
    reader,
)
from tests.e2e.hostsnapshot import refused
from tests.e2e.test_pod_boundary import named_namespace
from tests.e2e.test_sync_support import (
    exists,
    get_or_none,
    tenant_namespace,
    wait_for_event,
)
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]

# The module's host namespaces and daemon (one of each per module).
host_ns = hostile_fixtures.host_ns
neighbour_ns = hostile_fixtures.neighbour_ns
daemon = hostile_fixtures.daemon
t = hostile_fixtures.t


async def test_a_one_mebibyte_configmap_neither_crashes_nor_stalls_the_daemon(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """A configmap at the 1 MiB limit used by a pod is copied byte for byte; the daemon stays
    healthy and syncs a small pod created after it."""
    blob = "0123456789abcdef" * (1024 * 1024 // 16 - 8)
    async with tenant_namespace(virtual) as v_ns:
        before = await snapshot(host, t, neighbour_ns)
        v_big = await virtual.create(
            CONFIGMAPS, namespace=v_ns, body=configmap("big", data={"blob": blob})
        )
        await virtual.create(PODS, namespace=v_ns, body=reader("big-user", configmaps=("big",)))
        p_big = await copy_of(host, t, CONFIGMAPS, v_big)
        assert p_big["data"]["blob"] == blob
        await wait_for_object(
            host, PODS, namespace=t.host_namespace, name=t.host_name(v_ns, "big-user"),
            predicate=exists,
        )  # fmt: skip
        await virtual.create(PODS, namespace=v_ns, body=reader("after"))
        await wait_for_object(
            host, PODS, namespace=t.host_namespace, name=t.host_name(v_ns, "after"),
            predicate=exists,
        )  # fmt: skip
        assert daemon.healthy()
        assert await before.changes(host) == []


#: Values a tenant may write: emoji, right-to-left override, Hebrew, combining marks, NUL.
STRANGE = {
    "emoji": "🙂🔥👩‍👩‍👧",
    "rtl": "\u202etxt.exe",
    "hebrew": "שלום עולם",
    "combining": "e\u0301\u0302\u0303",
    "nul": "before\u0000after",
}


async def test_unicode_and_nul_values_are_copied_exactly(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """Configmap data and annotation values with unicode and NUL reach the host copy exactly;
    label values outside the label syntax never exist: the virtual API server refuses them."""
    del daemon
    annotations = {f"example.com/{k}": v for k, v in STRANGE.items()}
    async with tenant_namespace(virtual) as v_ns:
        for value in ("🙂", "a\u0000b", "\u202eabc"):
            with pytest.raises(Invalid):
                await virtual.create(
                    CONFIGMAPS, namespace=v_ns, body=configmap("label", labels={"x": value})
                )
        before = await snapshot(host, t, neighbour_ns)
        v_obj = await virtual.create(
            CONFIGMAPS,
            namespace=v_ns,
            body=configmap("strange", data=dict(STRANGE), annotations=annotations),
        )
        assert v_obj["data"] == STRANGE
        await virtual.create(PODS, namespace=v_ns, body=reader("strange", configmaps=("strange",)))
        p_obj = await copy_of(host, t, CONFIGMAPS, v_obj)
        assert p_obj["data"] == STRANGE
        for key, value in annotations.items():
            assert p_obj["metadata"]["annotations"][key] == value
        await wait_for_object(
            host, PODS, namespace=t.host_namespace, name=t.host_name(v_ns, "strange"),
            predicate=exists,
        )  # fmt: skip
        assert await before.changes(host) == []


async def test_a_claim_never_clones_what_is_not_its_namespaces(
    daemon: Daemon, t: Translator, neighbour_ns: str, host: KubeClient, virtual: KubeClient
) -> None:
    """Namespace c's claims cloning 'd-x-b' (whose host name is b-x-c's claim d's copy) or
    restoring a VolumeSnapshot (a host object vsyncer never syncs) are refused with
    SyncRefused and never reach the host; b-x-c's own clone of d is copied, renamed."""
    async with tenant_namespace(virtual) as c, named_namespace(virtual, f"b-x-{c}") as b:
        v_d = await virtual.create(PVCS, namespace=b, body=claim("d"))
        p_d = await copy_of(host, t, PVCS, v_d)
        assert p_d["metadata"]["name"] == t.host_name(c, "d-x-b")
        before = await snapshot(host, t, neighbour_ns)
        pvc_source = {"kind": "PersistentVolumeClaim", "name": "d-x-b"}
        snapshot_source = {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": "nightly-backup",
        }
        await virtual.create(PVCS, namespace=c, body=claim("thief", dataSource=pvc_source))
        await virtual.create(
            PVCS, namespace=c, body=claim("restore", dataSourceRef=snapshot_source)
        )
        v_clone = await virtual.create(
            PVCS, namespace=b, body=claim("clone", dataSource={**pvc_source, "name": "d"})
        )
        p_clone = await copy_of(host, t, PVCS, v_clone)
        assert p_clone["spec"]["dataSource"]["name"] == p_d["metadata"]["name"]
        # The API server mirrors either field into the other, so the message may name either.
        for name, why in (("thief", "belongs to another virtual object"), ("restore", "kind")):
            event = await wait_for_event(virtual, namespace=c, reason="SyncRefused", name=name)
            assert event["message"].startswith("spec.dataSource"), event["message"]
            assert why in event["message"], event["message"]
            p_name = t.host_name(c, name)
            assert await get_or_none(host, PVCS, namespace=t.host_namespace, name=p_name) is None
        assert refused(daemon, kind="persistentvolumeclaims", reason="data_source") >= 2
        assert await before.changes(host) == []
