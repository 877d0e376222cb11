"""Shared by the pod translation tests: a virtual pod, its environment, host-name helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mappers.podspec import PodEnvironment, translate_pod
from tests.mappers.fakes import T

Json = dict[str, Any]
ENV = PodEnvironment(nameserver="10.0.0.10", namespace_labels={"team": "blue"})


def v_pod(**spec: Any) -> Json:
    body: Json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "v-uid",
            "labels": {"app": "web", "release": "r1"},
            "annotations": {"note": "hi"},
        },
        "spec": {"containers": [{"name": "main", "image": "app:1"}]},
    }
    body["spec"].update(spec)
    return body


def h(name: str) -> str:
    return T.host_name("shop", name)


def container(spec: Json) -> Json:
    return dict(spec["containers"][0])


def assert_row(
    rule: str, pod: Json, env: PodEnvironment, read: Callable[[Json], object], expected: object
) -> None:
    """One row of a spec-translation table: ``read`` of the translated spec is ``expected``."""
    host = translate_pod(pod, translator=T, env=env)
    assert read(host["spec"]) == expected, rule
