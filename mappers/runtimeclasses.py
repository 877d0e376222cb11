"""RuntimeClasses (fromHost): the host's runtime classes, shown read-only in the virtual cluster.

An optional kind (``runtimeclasses.node.k8s.io`` in ``VSYNCER_KINDS``), as
vcluster's ``sync.fromHost.runtimeClasses``: a pod's ``runtimeClassName`` is
kept on its host copy, so it must name a host class; the virtual copy lets the
virtual API server admit such a pod (its RuntimeClass admission adds the
class's ``overhead`` and scheduling from the copy).  The classes this kind
copies are the ones a pod may name (besides ``VSYNCER_POD_RUNTIME_CLASSES``,
:mod:`mappers.podplacement`).  Every rule is
:class:`syncer.kit.fromhost.FromHostCopier`'s; ``VSYNCER_FROM_HOST_LABEL_SELECTOR``
narrows the classes copied.
"""

from __future__ import annotations

from syncer.api import RUNTIMECLASSES, MapperConfig, Translator
from syncer.kit.fromhost import FromHostCopier


def make(*, translator: Translator, config: MapperConfig | None = None) -> FromHostCopier:
    """Entry-point factory."""
    selector = config.from_host_label_selector if config is not None else None
    return FromHostCopier(resource=RUNTIMECLASSES, translator=translator, label_selector=selector)
