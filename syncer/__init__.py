"""vsyncer: the syncer of a virtual Kubernetes cluster.

The package is layered one way (see ``tests/syncer/test_layers.py``): values and
errors, then pure machinery (clock, rate limiters, work queue, store), then the
only Kubernetes client module (``kube``), then informers, the controller and the
daemon.  Plugin authors depend on :mod:`syncer.api` only.
"""

__version__ = "0.1.0"
