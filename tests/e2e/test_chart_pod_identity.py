"""The chart's toHost priority classes and service accounts with its service account and
roles only: a tenant's class and account reach the host (the class through the ClusterRole
the chart adds for it), a pod runs as both, and the host answers no request with 403."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncer.errors import NotFound
from syncer.kube import KubeClient
from syncer.localcluster import ClusterInfo
from syncer.resources import PODS, PRIORITYCLASSES, SERVICEACCOUNTS
from syncer.translate import Translator
from tests.e2e.chart_release import RELEASE, host_requests, installed, running_as_chart
from tests.e2e.test_sync_priorityclasses import priority_class
from tests.e2e.test_sync_serviceaccounts import account
from tests.e2e.test_sync_support import exists, gone, pod, where
from tests.kubehelpers import wait_for_object


@pytest.fixture
async def v_class(virtual: KubeClient) -> AsyncIterator[str]:
    name = f"urgent-{secrets.token_hex(4)}"
    await virtual.create(PRIORITYCLASSES, namespace=None, body=priority_class(name, 2000))
    yield name
    with contextlib.suppress(NotFound):
        await virtual.delete(PRIORITYCLASSES, namespace=None, name=name)


async def test_a_pod_runs_as_its_class_and_account_with_the_chart_roles(
    host_cluster: ClusterInfo,
    virtual_cluster: ClusterInfo,
    host: KubeClient,
    virtual: KubeClient,
    v_ns: str,
    v_class: str,
    tmp_path: Path,
) -> None:
    values = {
        "sync": {"priorityclassesToHost": {"enabled": True}, "serviceaccounts": {"enabled": True}}
    }
    await virtual.create(SERVICEACCOUNTS, namespace=v_ns, body=account("builder"))
    async with (
        installed(host_cluster, values=values) as release,
        running_as_chart(release, host=host_cluster, virtual=virtual_cluster, workdir=tmp_path) as (
            daemon,
            _settings,
            _kubeconfig,
        ),
    ):
        names = Translator(vcluster=RELEASE, host_namespace=release.namespace)
        body = pod("web", serviceAccountName="builder", priorityClassName=v_class)
        await virtual.create(PODS, namespace=v_ns, body=body)
        p_pod = await wait_for_object(
            host,
            PODS,
            namespace=release.namespace,
            name=names.host_name(v_ns, "web"),
            predicate=where(lambda o: o["spec"].get("priority") == 2000),
            within=90,
        )
        assert p_pod is not None
        assert p_pod["spec"]["serviceAccountName"] == names.host_name(v_ns, "builder")
        assert p_pod["spec"]["priorityClassName"] == names.host_cluster_name(v_class)
        await wait_for_object(
            host,
            PRIORITYCLASSES,
            namespace=None,
            name=names.host_cluster_name(v_class),
            predicate=exists,
        )
        # The class's copy goes with it (cluster-scoped copies have no owner to collect them).
        await virtual.delete(PRIORITYCLASSES, namespace=None, name=v_class)
        await wait_for_object(
            host,
            PRIORITYCLASSES,
            namespace=None,
            name=names.host_cluster_name(v_class),
            predicate=gone,
        )
        codes = host_requests(daemon)
        assert sum(codes.values()) > 0
        assert codes.get("403", 0) == 0, codes
