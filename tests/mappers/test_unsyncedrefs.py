"""A pod's references to kinds that are not enabled: the host pod is made, with a Warning."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.pods import PodMapper
from mappers.unsyncedrefs import EVENT_REASON, unsynced_message, unsynced_references
from syncer.api import CONFIGMAPS, PODS, SECRETS, Resource
from tests.mappers.fakes import Fake, T, pod_created

Json = dict[str, Any]
POD: Json = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "v-uid"},
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "nginx",
                "env": [
                    {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}
                ],
            }
        ],
        "volumes": [{"name": "s", "secret": {"secretName": "creds"}}],
    },
}


def test_the_message_names_each_reference_its_field_and_the_kind() -> None:
    """One line: field, kind, name, and the setting to change."""
    fake = Fake(enabled=[PODS])
    message = unsynced_message(unsynced_references(fake.ctx, POD))
    assert "spec.volumes[0].secret.secretName: secret 'creds' is not synced" in message
    assert "('secrets' is not in VSYNCER_KINDS)" in message
    assert "configMapKeyRef.name: configmap 'cfg' is not synced" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("enabled", "warned"),
    [([PODS], True), ([PODS, SECRETS], True), ([PODS, SECRETS, CONFIGMAPS], False)],
)
async def test_the_host_pod_is_made_and_unsynced_references_are_warned(
    enabled: list[Resource], warned: bool
) -> None:
    """Created either way; one Warning event exactly while some referenced kind is off."""
    fake = Fake(virtual={"pods": [POD]}, host={"pods": []}, enabled=enabled)
    await PodMapper(translator=T).sync_to_host(fake.ctx, POD)
    assert [o["metadata"]["name"] for o in pod_created(fake)] == [T.host_name("shop", "web")]
    assert (("Warning", EVENT_REASON) in fake.events) is warned
