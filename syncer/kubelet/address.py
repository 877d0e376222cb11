"""The address the fake virtual nodes advertise for their kubelet (this syncer).

Pure but for one lookup: ``VSYNCER_KUBELET_ADDRESS`` when set; else the pod's
IP from the ``POD_IP`` environment variable (the downward API's
``status.podIP``, the usual name); else the address this host's name
resolves to; else ``127.0.0.1``.  The virtual API server must be able to
reach it (it runs next to the syncer, in the same pod or on loopback under
``vsyncer dev``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


def advertised_address(configured: str | None, *, environ: Mapping[str, str] | None = None) -> str:
    """The kubelet address to advertise; see the module docstring for the order."""
    if configured:
        return configured
    pod_ip = (os.environ if environ is None else environ).get("POD_IP", "").strip()
    if pod_ip:
        return pod_ip
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
