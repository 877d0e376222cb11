"""A virtual Service that must take the host's cluster IP is re-created crash-safely, end to end.

The host is made to refuse the virtual IP by pre-allocating it with a foreign
Service in the host namespace; the syncer then records its intent on the host
copy before deleting the virtual Service.  A crash right after the delete is
played by writing that state by hand while no syncer runs: the next start
creates the Service from the intent instead of collecting the host copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mappers.serviceintent import RECREATE_INTENT_ANNOTATION, Intent, recreated
from mappers.servicespec import virtual_spec
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, SERVICES
from syncer.translate import OBJECT_UID_ANNOTATION
from tests.e2e.test_sync_support import exists, run_syncer, translator, where
from tests.kubehelpers import wait_for_object

Json = dict[str, Any]
KINDS = ("services", "endpoints")


async def owned_service(virtual: KubeClient, v_ns: str, name: str) -> Json:
    """A virtual Service with labels, annotations and an owner that really exists."""
    owner = await virtual.create(
        CONFIGMAPS, namespace=v_ns, body={"metadata": {"name": f"{name}-owner"}, "data": {}}
    )
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "labels": {"tier": "front"},
            "annotations": {"team": "shop"},
            "ownerReferences": [ref],
        },
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]},
    }
    return await virtual.create(SERVICES, namespace=v_ns, body=body)


def assert_same_tenant_metadata(now: Json, before: Json) -> None:
    for field in ("labels", "annotations", "ownerReferences"):
        assert now["metadata"].get(field) == before["metadata"].get(field), field
    assert now["spec"]["selector"] == before["spec"]["selector"]
    assert [p["port"] for p in now["spec"]["ports"]] == [80]


async def test_host_refusing_the_virtual_ip_recreates_through_the_intent(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The virtual IP is taken on the host: the host allocates; the virtual Service takes it."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    v_svc = await owned_service(virtual, v_ns, "web")
    taken = v_svc["spec"]["clusterIP"]
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "squatter"},
        "spec": {"clusterIP": taken, "ports": [{"port": 1}]},
    }
    await host.create(SERVICES, namespace=ns, body=foreign)
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        p_svc = await wait_for_object(
            host, SERVICES, namespace=ns, name=t.host_name(v_ns, "web"), predicate=exists
        )
        assert p_svc is not None
        p_ip = p_svc["spec"]["clusterIP"]
        assert p_ip != taken
        v_now = await wait_for_object(
            virtual,
            SERVICES,
            namespace=v_ns,
            name="web",
            predicate=where(lambda o: o["spec"]["clusterIP"] == p_ip),
        )
        assert v_now is not None
        assert v_now["metadata"]["uid"] != v_svc["metadata"]["uid"]
        assert_same_tenant_metadata(v_now, v_svc)
        p_now = await wait_for_object(
            host,
            SERVICES,
            namespace=ns,
            name=t.host_name(v_ns, "web"),
            predicate=where(
                lambda o: (
                    o["metadata"]["annotations"].get(OBJECT_UID_ANNOTATION)
                    == v_now["metadata"]["uid"]
                    and RECREATE_INTENT_ANNOTATION not in o["metadata"]["annotations"]
                )
            ),
        )
        assert p_now is not None


async def test_restart_after_a_crash_between_delete_and_create_restores_the_service(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """Intent on the host, virtual Service deleted, syncer down: the next start brings it back."""
    ns, t = namespace_with_sa, translator(namespace_with_sa)
    p_name = t.host_name(v_ns, "api")
    v_svc = await owned_service(virtual, v_ns, "api")
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        p_svc = await wait_for_object(
            host,
            SERVICES,
            namespace=ns,
            name=p_name,
            predicate=where(
                lambda o: (
                    o["metadata"]["annotations"].get(OBJECT_UID_ANNOTATION)
                    == v_svc["metadata"]["uid"]
                )
            ),
        )
        assert p_svc is not None
    # What a syncer killed right after step 2 leaves behind (steps 1 and 2 done by hand).
    v_svc = await virtual.get(SERVICES, namespace=v_ns, name="api")
    intent = Intent(
        old_uid=v_svc["metadata"]["uid"],
        service=recreated(v_svc, virtual_spec(v_svc["spec"], p_svc["spec"])),
    )
    p_svc["metadata"]["annotations"][RECREATE_INTENT_ANNOTATION] = intent.encode()
    await host.update(SERVICES, namespace=ns, name=p_name, body=p_svc)
    await virtual.delete(SERVICES, namespace=v_ns, name="api")
    await wait_for_object(
        virtual, SERVICES, namespace=v_ns, name="api", predicate=lambda o: o is None
    )
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        v_now = await wait_for_object(
            virtual, SERVICES, namespace=v_ns, name="api", predicate=exists
        )
        assert v_now is not None
        assert_same_tenant_metadata(v_now, v_svc)
        assert v_now["spec"]["clusterIP"] == p_svc["spec"]["clusterIP"]
        p_now = await wait_for_object(
            host,
            SERVICES,
            namespace=ns,
            name=p_name,
            predicate=where(
                lambda o: (
                    o["metadata"]["annotations"].get(OBJECT_UID_ANNOTATION)
                    == v_now["metadata"]["uid"]
                    and RECREATE_INTENT_ANNOTATION not in o["metadata"]["annotations"]
                )
            ),
        )
        assert p_now is not None
        assert p_now["metadata"]["uid"] == p_svc["metadata"]["uid"], "the host copy was replaced"
