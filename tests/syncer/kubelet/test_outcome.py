"""Tests for syncer.kubelet.outcome: the error bodies the virtual API server shows to kubectl."""

from __future__ import annotations

import orjson

from syncer.kubelet.outcome import not_synced, status_message, text_error


def test_status_message_of_a_kubernetes_status() -> None:
    """The host's Status message is what kubectl should show."""
    body = orjson.dumps({"kind": "Status", "message": 'container "x" is not valid', "code": 400})
    assert status_message(body) == 'container "x" is not valid'


def test_status_message_of_plain_text_or_nothing() -> None:
    """Text is kept (trimmed); an empty body still says something."""
    assert status_message(b"  pod not found\n") == "pod not found"
    assert status_message(b"") == "no message"
    assert status_message(b'{"message": 3}') == '{"message": 3}'


def test_text_error_is_one_line() -> None:
    """Plain text ending in one newline, with the status."""
    response = text_error(503, "cannot reach the host API server\n")
    assert (response.status, response.text) == (503, "cannot reach the host API server\n")


def test_not_synced_names_the_pod() -> None:
    """404 naming the virtual pod and namespace, and why there is no copy."""
    response = not_synced(namespace="shop", pod="web")
    assert response.status == 404
    assert response.text is not None
    assert 'pod "web" in namespace "shop" has no copy on the host cluster' in response.text
