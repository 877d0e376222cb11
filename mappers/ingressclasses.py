"""IngressClasses (fromHost): the host's ingress classes, shown read-only in the virtual cluster.

An optional kind (``ingressclasses.networking.k8s.io`` in ``VSYNCER_KINDS``), as
vcluster's ``sync.fromHost.ingressClasses``: synced ingresses keep their
``ingressClassName``, which names a host class, so the tenant sees the host's
classes (and the default one, by the ``ingressclass.kubernetes.io/is-default-class``
annotation, copied as it is).  Every rule is
:class:`syncer.kit.fromhost.FromHostCopier`'s; ``VSYNCER_FROM_HOST_LABEL_SELECTOR``
narrows the classes copied.
"""

from __future__ import annotations

from syncer.api import INGRESSCLASSES, MapperConfig, Translator
from syncer.kit.fromhost import FromHostCopier


def make(*, translator: Translator, config: MapperConfig | None = None) -> FromHostCopier:
    """Entry-point factory."""
    selector = config.from_host_label_selector if config is not None else None
    return FromHostCopier(resource=INGRESSCLASSES, translator=translator, label_selector=selector)
