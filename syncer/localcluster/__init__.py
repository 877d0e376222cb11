"""A real, local Kubernetes control plane for development and tests.

:mod:`~syncer.localcluster.build` builds kube-apiserver, kube-controller-manager,
kube-scheduler, etcd and kwok from the Go module proxy into a per-user cache;
:mod:`~syncer.localcluster.cluster` runs a *host* and a *virtual* cluster from
them on loopback; :mod:`~syncer.localcluster.kwok` makes kwok serve the host
pods' kubelet API (logs, exec, attach, port-forward);
:mod:`~syncer.localcluster.processes` makes sure nothing it started outlives it.
``vsyncer dev`` and the test suite both use this package.
"""

from syncer.localcluster.build import Binaries, BuildError, BuildResult, build, cached
from syncer.localcluster.cluster import ClusterInfo, ControlPlane, ControlPlaneError

__all__ = [
    "Binaries",
    "BuildError",
    "BuildResult",
    "ClusterInfo",
    "ControlPlane",
    "ControlPlaneError",
    "build",
    "cached",
]
