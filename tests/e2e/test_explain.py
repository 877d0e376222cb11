"""``vsyncer explain`` against the real clusters: in sync, drifted, and not ours."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from syncer.explain import EXIT_DRIFTED, EXIT_IN_SYNC, EXIT_NOT_OURS, Target, explain
from syncer.explaindiff import Ownership
from syncer.kube import KubeClient
from syncer.resources import CONFIGMAPS, PODS, SERVICES
from syncer.settings import Settings
from syncer.translate import MANAGED_BY_LABEL, OBJECT_KIND_ANNOTATION, OBJECT_NAME_ANNOTATION
from tests.e2e.test_sync_support import VCLUSTER, exists, pod, run_syncer
from tests.kubehelpers import wait_for_object

KINDS = ("pods", "services", "configmaps", "secrets", "nodes")
Json = dict[str, Any]


def settings_for(host_namespace: str, host_kubeconfig: Path, virtual_kubeconfig: Path) -> Settings:
    return Settings(
        vcluster_name=VCLUSTER,
        host_namespace=host_namespace,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    )


def service(name: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"tier": "web"}},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def configmap(name: str, labels: dict[str, str], annotations: dict[str, str]) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "data": {"a": "1"},
    }


async def vsyncer_explain(settings: Settings, *args: str) -> tuple[int, str, str]:
    """``python -m syncer explain ARGS`` with ``settings`` in the environment."""
    env = {
        **os.environ,
        "VSYNCER_VCLUSTER_NAME": settings.vcluster_name,
        "VSYNCER_HOST_NAMESPACE": settings.host_namespace,
        "VSYNCER_HOST_KUBECONFIG": str(settings.host_kubeconfig),
        "VSYNCER_VIRTUAL_KUBECONFIG": str(settings.virtual_kubeconfig),
        "VSYNCER_KINDS": ",".join(settings.kinds),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "syncer",
        "explain",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_in_sync_then_drifted_service_and_pod(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """A synced service and pod are in sync (no field differs), and so is the pod's fake node;
    a changed host port is drift."""
    ns = namespace_with_sa
    settings = settings_for(ns, host_kubeconfig, virtual_kubeconfig)
    p_web = f"web-x-{v_ns}-x-{VCLUSTER}"
    async with run_syncer(
        host_namespace=ns,
        host_kubeconfig=host_kubeconfig,
        virtual_kubeconfig=virtual_kubeconfig,
        kinds=KINDS,
    ):
        await virtual.create(SERVICES, namespace=v_ns, body=service("web"))
        await virtual.create(PODS, namespace=v_ns, body=pod("web"))
        await wait_for_object(host, SERVICES, namespace=ns, name=p_web, predicate=exists)
        await wait_for_object(
            host,
            PODS,
            namespace=ns,
            name=p_web,
            predicate=lambda p: p is not None and bool(p.get("spec", {}).get("nodeName")),
        )
        await wait_for_object(
            virtual,
            PODS,
            namespace=v_ns,
            name="web",
            predicate=lambda p: p is not None and p.get("status", {}).get("phase") == "Running",
        )
        for kind in ("services", "pods"):
            report = await explain(settings=settings, target=Target(kind, v_ns, "web"))
            assert report.verdict.ownership is Ownership.OURS, report.lines()
            assert report.differences == (), report.lines()
            assert report.code == EXIT_IN_SYNC, report.lines()
            assert report.host_name == p_web
            assert report.host_key == (kind, v_ns, "web")
        # The pod's fake node mirrors its host node: cluster-scoped, only read on the host.
        node = (await virtual.get(PODS, namespace=v_ns, name="web"))["spec"]["nodeName"]
        report = await explain(settings=settings, target=Target("nodes", "", node))
        assert report.verdict.ownership is Ownership.OURS, report.lines()
        assert (report.code, report.host_key) == (EXIT_IN_SYNC, ("nodes", "", node))
    # The syncer is stopped: the host copy's port is changed behind its back.
    p_svc = await host.get(SERVICES, namespace=ns, name=p_web)
    p_svc["spec"]["ports"][0]["port"] = 81
    await host.update(SERVICES, namespace=ns, name=p_web, body=p_svc)
    report = await explain(settings=settings, target=Target("services", v_ns, "web"))
    assert report.code == EXIT_DRIFTED, report.lines()
    assert [d.path for d in report.differences] == ["spec.ports[0].port"]
    assert (report.differences[0].want, report.differences[0].have) == (80, 81)
    code, out, err = await vsyncer_explain(settings, f"services/{v_ns}/web")
    assert code == EXIT_DRIFTED, err
    assert "spec.ports[0].port: want 80, host has 81" in out
    assert "verdict: drifted" in out
    code, out, err = await vsyncer_explain(settings, f"services/{v_ns}/web", "-o", "json")
    data = json.loads(out)
    assert (code, data["code"], data["verdict"]) == (EXIT_DRIFTED, EXIT_DRIFTED, "drifted"), err
    assert [d["path"] for d in data["differences"]] == ["spec.ports[0].port"]
    code, out, err = await vsyncer_explain(settings, "pods", "--host", p_web)
    assert (code, err) == (EXIT_IN_SYNC, "")
    assert f"virtual key: pods:{v_ns}/web" in out


async def test_missing_copy_is_drift_and_objects_of_others_are_not_ours(
    namespace_with_sa: str,
    v_ns: str,
    host: KubeClient,
    virtual: KubeClient,
    host_kubeconfig: Path,
    virtual_kubeconfig: Path,
) -> None:
    """No syncer ran: the service has no copy (1); foreign, another vcluster's and spoofed
    host objects under the pod's and configmaps' names are not ours (2)."""
    ns = namespace_with_sa
    settings = settings_for(ns, host_kubeconfig, virtual_kubeconfig)
    await virtual.create(SERVICES, namespace=v_ns, body=service("lonely"))
    report = await explain(settings=settings, target=Target("services", v_ns, "lonely"))
    assert report.verdict.ownership is Ownership.MISSING
    assert (report.code, report.drift) == (EXIT_DRIFTED, "missing")

    spoof = {
        OBJECT_NAME_ANNOTATION: "other",
        OBJECT_KIND_ANNOTATION: CONFIGMAPS.kind_string,
    }
    cases = {
        "foreign": configmap(f"a-x-{v_ns}-x-{VCLUSTER}", {}, {}),
        "another vcluster": configmap(f"b-x-{v_ns}-x-{VCLUSTER}", {MANAGED_BY_LABEL: "vc2"}, {}),
        "spoofed": configmap(f"c-x-{v_ns}-x-{VCLUSTER}", {MANAGED_BY_LABEL: VCLUSTER}, spoof),
    }
    for owner, body in cases.items():
        await host.create(CONFIGMAPS, namespace=ns, body=body)
        name = body["metadata"]["name"]
        code, out, err = await vsyncer_explain(settings, "configmaps", "--host", name)
        assert code == EXIT_NOT_OURS, (owner, out, err)
        assert f"owner:   {owner} (" in out
        assert "verdict: not ours" in out
    code, out, err = await vsyncer_explain(settings, "configmaps", "--host", "no-such-object")
    assert (code, out.splitlines()[-1]) == (EXIT_NOT_OURS, "verdict: not found"), err
    code, out, err = await vsyncer_explain(settings, "configmaps/only-two-parts/x/y")
    assert code == 2
    assert out == ""
    assert err.startswith("vsyncer explain: TARGET:")
    assert "Traceback" not in err
