"""A tenant's ConfigMap labelled for Grafana's dashboard sidecar, used by a pod, end to end:
its host copy (in the namespace such a sidecar might watch) carries the label renamed, and
the virtual objects keep it (syncer/hostlabels.py)."""

from __future__ import annotations

from pathlib import Path

from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, PODS
from tests.e2e.test_sync_support import exists, pod, run_syncer, translator
from tests.kubehelpers import wait_for_object

LABELS = {"grafana_dashboard": "1", "owner": "helm", "app": "web"}


async def test_a_dashboard_labelled_config_map_reaches_the_host_without_the_label(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """The host ConfigMap and pod have no grafana_dashboard or owner label, each under its
    renamed key instead; app is copied as it is; the virtual objects keep all three."""
    t, ns = translator(namespace_with_sa), namespace_with_sa
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=("pods", "configmaps"),
    ):
        dashboard = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "dash", "labels": dict(LABELS)},
            "data": {"dashboard.json": "{}"},
        }
        await virtual.create(CONFIGMAPS, namespace=v_ns, body=dashboard)
        web = pod("web", volumes=[{"name": "d", "configMap": {"name": "dash"}}])
        web["metadata"]["labels"] = dict(LABELS)
        await virtual.create(PODS, namespace=v_ns, body=web)
        for resource, name in ((CONFIGMAPS, "dash"), (PODS, "web")):
            copy = await wait_for_object(
                host, resource, namespace=ns, name=t.host_name(v_ns, name), predicate=exists
            )
            assert copy is not None, resource.plural
            labels = copy["metadata"]["labels"]
            assert not {"grafana_dashboard", "owner"} & set(labels), resource.plural
            assert labels[t.translate_label_key("grafana_dashboard")] == "1"
            assert labels[t.translate_label_key("owner")] == "helm"
            assert labels["app"] == "web"
            listed = await host.list(resource, namespace=ns, label_selector="grafana_dashboard")
            assert listed["items"] == [], resource.plural
            v_obj = await virtual.get(resource, namespace=v_ns, name=name)
            assert LABELS.items() <= v_obj["metadata"]["labels"].items()
