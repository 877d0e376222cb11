"""StorageClasses (fromHost): the host's storage classes, shown read-only in the virtual cluster.

An optional kind (``storageclasses.storage.k8s.io`` in ``VSYNCER_KINDS``), as
vcluster's ``sync.fromHost.storageClasses``: tenants' claims name a class the
host provides, so the tenant sees the host's classes, including which one is
the default (the ``storageclass.kubernetes.io/is-default-class`` annotation is
copied as it is).  Every rule is :class:`syncer.kit.fromhost.FromHostCopier`'s;
``VSYNCER_FROM_HOST_LABEL_SELECTOR`` narrows the classes copied.
"""

from __future__ import annotations

from syncer.api import STORAGECLASSES, MapperConfig, Translator
from syncer.kit.fromhost import FromHostCopier


def make(*, translator: Translator, config: MapperConfig | None = None) -> FromHostCopier:
    """Entry-point factory."""
    selector = config.from_host_label_selector if config is not None else None
    return FromHostCopier(resource=STORAGECLASSES, translator=translator, label_selector=selector)
