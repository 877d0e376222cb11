"""The consistency rules, as before/after tables over hand-made snapshots of both clusters."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mappers.tokens import TOKEN_SECRET_LABEL
from syncer.api import ObjectKey
from syncer.owneranchor import owner_reference
from syncer.resources import CONFIGMAPS, PODS, SERVICES
from syncer.translate import FAKE_NODE_LABEL, Translator, token_host_name
from tests.faults.consistency import Report, Snapshot, compare
from tests.faults.ledger import Ledger

pytestmark = pytest.mark.faults

T = Translator(vcluster="vc", host_namespace="vcluster-vc")
NS = "shop"
Json = dict[str, Any]
KINDS = {"pods": PODS, "services": SERVICES, "configmaps": CONFIGMAPS}


def _pod(name: str, *, configmap: str | None = None) -> Json:
    spec: Json = {"containers": [{"name": "c", "image": "nginx:1"}], "nodeName": "kwok-node-0"}
    if configmap:
        spec["volumes"] = [{"name": "v", "configMap": {"name": configmap}}]
    return {
        "metadata": {"name": name, "namespace": NS, "uid": f"u-{name}", "labels": {"app": "w"}},
        "spec": spec,
        "status": {"phase": "Running", "podIP": "10.244.0.5"},
    }


def _service(name: str) -> Json:
    return {
        "metadata": {"name": name, "namespace": NS, "uid": f"u-{name}"},
        "spec": {
            "clusterIP": "10.96.0.10",
            "selector": {"app": "w"},
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        },
    }


def _configmap(name: str) -> Json:
    return {"metadata": {"name": name, "namespace": NS, "uid": f"u-{name}"}, "data": {"k": "v"}}


def _host_copy(kind: str, v_obj: Json) -> Json:
    """The host object a faithful syncer would hold for ``v_obj``."""
    p_obj = copy.deepcopy(v_obj)
    meta = v_obj["metadata"]
    name = T.host_name(NS, meta["name"])
    p_obj["metadata"] = {
        "name": name,
        "namespace": T.host_namespace,
        "uid": f"host-{meta['uid']}",
        "labels": T.translate_labels(meta.get("labels"), namespace=NS),
        "annotations": T.provenance_annotations(
            kind_string=KINDS[kind].kind_string,
            namespace=NS,
            name=meta["name"],
            uid=meta["uid"],
            host_name=name,
        ),
    }
    if kind == "services":
        p_obj["spec"]["selector"] = T.translate_selector(v_obj["spec"]["selector"], namespace=NS)
    return p_obj


class World:
    """Both clusters as lists, plus the ledger, built consistent and then broken by a case."""

    def __init__(self) -> None:
        self.virtual: dict[str, list[Json]] = {
            "pods": [_pod("web", configmap="conf")],
            "services": [_service("web")],
            "configmaps": [_configmap("conf"), _configmap("unused")],
            "nodes": [{"metadata": {"name": "kwok-node-0", "labels": {FAKE_NODE_LABEL: "true"}}}],
            "events": [],
        }
        self.host: dict[str, list[Json]] = {
            "pods": [_host_copy("pods", self.virtual["pods"][0])],
            "services": [_host_copy("services", self.virtual["services"][0])],
            "configmaps": [_host_copy("configmaps", self.virtual["configmaps"][0])],
            "events": [],
        }
        self.ledger = Ledger()
        for kind in ("pods", "services", "configmaps"):
            for obj in self.virtual[kind]:
                self.ledger.created(ObjectKey(kind, NS, obj["metadata"]["name"]))

    def find(self, side: str, kind: str, name: str) -> Json:
        objs = (self.virtual if side == "virtual" else self.host)[kind]
        return next(o for o in objs if name in o["metadata"]["name"])

    def drop(self, side: str, kind: str, name: str) -> None:
        objs = (self.virtual if side == "virtual" else self.host)[kind]
        objs.remove(self.find(side, kind, name))

    def report(self) -> Report:
        snapshot = Snapshot(namespaces=frozenset({NS}), virtual=self.virtual, host=self.host)
        return compare(snapshot=snapshot, ledger=self.ledger, translator=T)


def test_consistent_world_is_clean() -> None:
    """A faithful copy of everything that must be synced, and nothing else, is clean."""
    report = World().report()
    assert report.clean, report.summary()
    assert report.created == 4
    assert report.checked == 3


def _lose_both_sides(w: World) -> None:
    w.drop("virtual", "services", "web")
    w.drop("host", "services", "web")


def _lose_host_pod(w: World) -> None:
    w.drop("host", "pods", "web")


def _orphan_service(w: World) -> None:
    w.drop("virtual", "services", "web")
    w.ledger.deleted(ObjectKey("services", NS, "web"))


def _unreferenced_copy(w: World) -> None:
    w.host["configmaps"].append(_host_copy("configmaps", w.find("virtual", "configmaps", "unused")))


def _second_copy(w: World) -> None:
    extra = copy.deepcopy(w.find("host", "services", "web"))
    extra["metadata"]["name"] = "web-copy"
    w.host["services"].append(extra)


def _cluster_ip(w: World) -> None:
    w.find("virtual", "services", "web")["spec"]["clusterIP"] = "10.96.0.99"


def _data(w: World) -> None:
    w.find("host", "configmaps", "conf")["data"] = {"k": "stale"}


def _status(w: World) -> None:
    w.find("host", "pods", "web")["status"]["phase"] = "Failed"


def _label(w: World) -> None:
    w.find("virtual", "pods", "web")["metadata"]["labels"]["tier"] = "front"


def _terminating(w: World) -> None:
    w.find("virtual", "pods", "web")["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"


def _no_fake_node(w: World) -> None:
    w.virtual["nodes"] = []


def _stale_fake_node(w: World) -> None:
    w.virtual["nodes"].append(
        {"metadata": {"name": "kwok-node-9", "labels": {FAKE_NODE_LABEL: "true"}}}
    )


def _token_missing(w: World) -> None:
    w.find("virtual", "pods", "web")["spec"]["volumes"].append(
        {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
    )
    mounted = token_host_name(vcluster="vc", namespace=NS, pod="web")
    w.find("host", "pods", "web")["spec"]["volumes"].append(
        {"name": "t", "projected": {"sources": [{"secret": {"name": mounted}}]}}
    )


def _token_not_mounted(w: World) -> None:
    w.find("virtual", "pods", "web")["spec"]["volumes"].append(
        {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
    )


def _token_orphan(w: World) -> None:
    labels = {TOKEN_SECRET_LABEL: "true", "vcluster.loft.sh/managed-by": "vc"}
    w.host["secrets"] = [{"metadata": {"name": T.host_name(NS, "gone-sa-token"), "labels": labels}}]


def _event_not_copied(w: World) -> None:
    p_pod = w.find("host", "pods", "web")
    w.host["events"].append(
        {
            "metadata": {"name": "web.1", "namespace": T.host_namespace},
            "involvedObject": {
                "kind": "Pod",
                "name": p_pod["metadata"]["name"],
                "uid": p_pod["metadata"]["uid"],
            },
        }
    )


CASES: list[tuple[str, Callable[[World], None], str, str]] = [
    ("loss of both sides", _lose_both_sides, "lost", "services:shop/web"),
    ("host pod missing", _lose_host_pod, "lost", "pods:shop/web"),
    ("virtual deleted, host left", _orphan_service, "orphaned", "services:shop/web"),
    ("unreferenced configmap copied", _unreferenced_copy, "orphaned", "configmaps:shop/unused"),
    ("second copy, other name", _second_copy, "duplicated", "services:shop/web"),
    ("cluster IP differs", _cluster_ip, "mismatched", "services:shop/web"),
    ("configmap data differs", _data, "mismatched", "configmaps:shop/conf"),
    ("pod status not up", _status, "mismatched", "pods:shop/web"),
    ("label not down", _label, "mismatched", "pods:shop/web"),
    ("virtual still terminating", _terminating, "mismatched", "pods:shop/web"),
    ("fake node missing", _no_fake_node, "lost", "pods:shop/web"),
    ("fake node unused", _stale_fake_node, "orphaned", "nodes:kwok-node-9"),
    ("token secret missing", _token_missing, "lost", "pods:shop/web"),
    ("host pod mounts no token", _token_not_mounted, "lost", "pods:shop/web"),
    ("token secret without pod", _token_orphan, "orphaned", "secrets:gone-sa-token"),
    ("host event not copied up", _event_not_copied, "lost", "events:shop/web.1"),
]


@pytest.mark.parametrize(("name", "breaks", "field", "key"), CASES, ids=[c[0] for c in CASES])
def test_each_break_is_reported(
    name: str, breaks: Callable[[World], None], field: str, key: str
) -> None:
    """Each kind of inconsistency lands in its class, naming the key, and only there."""
    world = World()
    breaks(world)
    report = world.report()
    problems = getattr(report, field)
    assert any(key in str(p.key) or key in str(p) for p in problems), report.summary()
    others = {"lost", "duplicated", "orphaned", "mismatched"} - {field}
    assert not any(getattr(report, other) for other in others), report.summary()
    assert not report.clean


def test_ledger_delete_then_recreate_is_live() -> None:
    """A key deleted and created again must exist again."""
    ledger = Ledger()
    key = ObjectKey("pods", NS, "a")
    ledger.created(key)
    ledger.deleted(key)
    assert ledger.live() == frozenset()
    ledger.created(key)
    assert ledger.live() == {key}
    assert ledger.namespaces() == {NS}


def test_refused_object_must_have_no_host_copy() -> None:
    """A key the syncer must refuse is consistent without a copy, and orphaned with one."""
    world = World()
    world.ledger.refused(ObjectKey("pods", NS, "web"))
    assert [str(p.key) for p in world.report().orphaned] == ["pods:shop/web"]
    world.drop("host", "pods", "web")
    assert world.report().clean, world.report().summary()


def test_marker_label_without_provenance_is_not_a_copy() -> None:
    """The host endpoints controller copies a synced service's labels to its Endpoints."""
    world = World()
    p_service = world.find("host", "services", "web")
    meta = p_service["metadata"]
    world.host["endpoints"] = [{"metadata": {"name": meta["name"], "labels": meta["labels"]}}]
    assert world.report().clean, world.report().summary()


def test_out_of_scope_namespaces_are_not_judged() -> None:
    """Another tenant namespace's objects in the shared clusters do not count."""
    world = World()
    other = _pod("x")
    other["metadata"]["namespace"] = "elsewhere"
    world.virtual["pods"].append(other)
    assert world.report().clean


def _anchored() -> World:
    """The consistent world with an owner anchor: every host copy owned by it alone."""
    world = World()
    world.host["services"].append(
        {"metadata": {"name": "vc", "namespace": T.host_namespace, "uid": "anchor-1"}}
    )
    for kind in ("pods", "services", "configmaps"):
        for p_obj in world.host[kind]:
            if p_obj["metadata"]["name"] != "vc":
                p_obj["metadata"]["ownerReferences"] = [owner_reference(name="vc", uid="anchor-1")]
    return world


def _owners(world: World) -> list[Json]:
    owners: list[Json] = world.find("host", "pods", "web")["metadata"]["ownerReferences"]
    return owners


OWNER_BREAKS: list[tuple[str, Callable[[World], None]]] = [
    ("no owner", lambda w: w.find("host", "pods", "web")["metadata"].pop("ownerReferences")),
    ("a deleted anchor's uid", lambda w: _owners(w)[0].update(uid="anchor-0")),
    ("a second owner", lambda w: _owners(w).append(owner_reference(name="x", uid="x-1"))),
    ("controller without a controlling owner", lambda w: _owners(w)[0].update(controller=True)),
]


def test_copies_owned_by_the_anchor_alone_are_clean() -> None:
    """With the anchor Service in the host namespace, each copy carries its one reference."""
    report = _anchored().report()
    assert report.clean, report.summary()


@pytest.mark.parametrize(("name", "breaks"), OWNER_BREAKS, ids=[b[0] for b in OWNER_BREAKS])
def test_each_owner_break_is_a_mismatch(name: str, breaks: Callable[[World], None]) -> None:
    """A copy not owned by exactly the current anchor is mismatched, naming the key."""
    world = _anchored()
    breaks(world)
    report = world.report()
    assert [str(p.key) for p in report.mismatched] == ["pods:shop/web"], report.summary()
    assert report.counts() == {**report.counts(), "lost": 0, "duplicated": 0, "orphaned": 0}


def test_the_anchor_reference_is_a_controller_exactly_for_controlled_objects() -> None:
    """A virtual pod a ReplicaSet controls: its copy's anchor reference is a controller."""
    world = _anchored()
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "w", "uid": "rs-1"}
    world.find("virtual", "pods", "web")["metadata"]["ownerReferences"] = [
        {**rs, "controller": True}
    ]
    assert [str(p.key) for p in world.report().mismatched] == ["pods:shop/web"]
    _owners(world)[0]["controller"] = True
    assert world.report().clean, world.report().summary()


def test_without_an_anchor_copies_have_no_owner() -> None:
    """VSYNCER_SET_OWNER=false: no anchor, and an owner reference on a copy is a mismatch."""
    world = World()
    world.find("host", "configmaps", "conf")["metadata"]["ownerReferences"] = [
        owner_reference(name="vc", uid="anchor-1")
    ]
    assert [str(p.key) for p in world.report().mismatched] == ["configmaps:shop/conf"]
