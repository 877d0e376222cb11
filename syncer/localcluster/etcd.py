"""Talking to the local etcd through its HTTP/JSON gateway (no etcdctl is built).

Guarantees: every call is one bounded HTTP request to the etcd client URL
(``http://127.0.0.1:<port>``); :func:`compact` compacts the whole key space at
the current revision, *physically* (the call returns once the old revisions are
gone), so a watch or list from an older resourceVersion then fails with 410
Gone at the API servers, as after a real compaction.  Errors surface as
``OSError`` (connection refused, HTTP errors) from :mod:`urllib`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

#: base64 of a single NUL byte: the smallest key, a valid ``range`` request key.
_ANY_KEY = "AA=="


def _call(url: str, path: str, body: Mapping[str, Any], *, timeout: float) -> Any:
    req = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def revision(url: str, *, timeout: float = 30.0) -> int:
    """The store's current revision (``header.revision`` of a one-key range)."""
    answer = _call(url, "/v3/kv/range", {"key": _ANY_KEY, "limit": 1}, timeout=timeout)
    return int(answer["header"]["revision"])


def compact(url: str, *, timeout: float = 30.0) -> int:
    """Compact physically at the current revision; return that revision."""
    rev = revision(url, timeout=timeout)
    _call(url, "/v3/kv/compaction", {"revision": rev, "physical": True}, timeout=timeout)
    return rev


def healthy(url: str, *, timeout: float = 2.0) -> bool:
    """Whether ``/health`` answers ``{"health": "true"}``."""
    with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:
        return bool(json.loads(resp.read()).get("health") == "true")
