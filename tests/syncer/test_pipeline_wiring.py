"""The wiring hands each kind's reconcile a per-reconcile logger and records its own writes.

The clients are real :class:`~syncer.kube.KubeClient` objects whose one request
method answers locally, so a write goes the whole way a reconcile's does:
``SyncContext`` → host writer / virtual API → recording API → client.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest

from mappers.pods import make as make_pods
from syncer import pipeline
from syncer.api import PODS, ObjectKey
from syncer.echoes import RecordingApi
from syncer.kube import KubeClient
from syncer.metrics import Metrics
from syncer.reconcilelog import ReconcileLogger
from syncer.settings import load_settings
from syncer.translate import Translator

T = Translator(vcluster="vc", host_namespace="vc-host")
KEY = ObjectKey("pods", "shop", "web")


def _client(cluster: str, monkeypatch: pytest.MonkeyPatch) -> KubeClient:
    """A client whose requests answer with the body sent, under a new resourceVersion."""
    configuration = SimpleNamespace(host="https://127.0.0.1:1", tls_server_name=None)
    client = KubeClient(
        cluster=cluster,
        configuration=configuration,
        session=None,  # type: ignore[arg-type]
        metrics=Metrics().rest_metrics(),
    )
    versions = itertools.count(100)

    async def request(verb: str, method: str, path: str, **kw: Any) -> dict[str, Any]:
        body = dict(kw.get("body") or {})
        body["metadata"] = {**body.get("metadata", {}), "resourceVersion": str(next(versions))}
        return body

    monkeypatch.setattr(client, "request", request)
    return client


def _host_pod() -> dict[str, Any]:
    name = T.host_name(KEY.namespace, KEY.name)
    return {
        "metadata": {
            "name": name,
            "namespace": T.host_namespace,
            "uid": "p-1",
            "labels": T.translate_labels({}, namespace=KEY.namespace),
            "annotations": T.provenance_annotations(
                kind_string=PODS.kind_string,
                namespace=KEY.namespace,
                name=KEY.name,
                uid="v-1",
                host_name=name,
            ),
        }
    }


def _wiring(monkeypatch: pytest.MonkeyPatch) -> pipeline.Wiring:
    settings = load_settings(
        env={
            "VSYNCER_VCLUSTER_NAME": "vc",
            "VSYNCER_HOST_NAMESPACE": "vc-host",
            "VSYNCER_KINDS": "pods",
            "VSYNCER_SET_OWNER": "false",  # no owner anchor to read from this stand-in client
        }
    )
    return pipeline.build(
        settings=settings,
        factories={"pods": make_pods},
        virtual=_client("virtual", monkeypatch),
        host=_client("host", monkeypatch),
        may_write=lambda: True,
        metrics=Metrics(),
        blocked_initial=30.0,
    )


async def test_echoes_of_writes_through_the_context_do_not_enqueue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host create and a virtual status update made through the pod context are recognised
    as echoes when their versions come back; any other version enqueues the key."""
    wiring = _wiring(monkeypatch)
    line = wiring.kinds["pods"]
    ctx = line.sync.context
    assert isinstance(ctx.log, ReconcileLogger)
    assert isinstance(ctx.virtual, RecordingApi)
    queue = line.controller.queue
    host_informer = wiring.informers[("host", "pods")]
    virtual_informer = wiring.informers[("virtual", "pods")]

    created = await ctx.host.create(PODS, body=_host_pod())
    host_informer.correct(live=[created], gone=[])
    v_pod = {"metadata": {"name": "web", "namespace": "shop", "uid": "v-1"}}
    updated = await ctx.virtual.update_status(PODS, namespace="shop", name="web", body=v_pod)
    virtual_informer.correct(live=[updated], gone=[])
    assert len(queue) == 0

    changed = {**created, "metadata": {**created["metadata"], "resourceVersion": "1"}}
    host_informer.correct(live=[changed], gone=[])
    assert len(queue) == 1
    assert await queue.get() == KEY
