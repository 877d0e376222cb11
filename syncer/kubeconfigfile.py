"""What a kubeconfig file must be before a client is built from it.

:func:`check_kubeconfig` is the settings' check of ``VSYNCER_VIRTUAL_KUBECONFIG``
and ``VSYNCER_HOST_KUBECONFIG``: the file exists, can be read, and holds a YAML
mapping with at least one cluster (kubectl's own minimum: with no cluster there
is no server to talk to).  It raises ValueError with a one-line reason
(``is empty``, ``must name an existing file``); anything past that (a context
naming no user, a bad certificate) is the client's to report when it loads the
file (:func:`syncer.pipeline.connect`).  The virtual kubeconfig of a control
plane that is still starting may not exist yet: the caller waits for it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

__all__ = ["check_kubeconfig"]


def check_kubeconfig(path: Path) -> Path:
    """``path`` if it names a usable kubeconfig file; ValueError with the reason otherwise."""
    if not path.is_file():
        raise ValueError("must name an existing file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"cannot read the file: {reason}") from None
    if not text.strip():
        raise ValueError("the file is empty, not a kubeconfig")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError("the file is not valid YAML, not a kubeconfig") from None
    if not isinstance(config, Mapping):
        raise ValueError("the file holds no YAML mapping, not a kubeconfig")
    clusters = config.get("clusters")
    if not isinstance(clusters, list) or not clusters:
        raise ValueError("the kubeconfig names no cluster")
    return path
