"""PriorityClasses (fromHost): the host's priority classes, shown read-only in the virtual cluster.

An optional kind (``priorityclasses.scheduling.k8s.io`` in ``VSYNCER_KINDS``), as
vcluster's ``sync.fromHost.priorityClasses``: a synced pod's
``priorityClassName`` then names a class the host has.  Every rule is
:class:`syncer.kit.fromhost.FromHostCopier`'s (``VSYNCER_FROM_HOST_LABEL_SELECTOR``
narrows the classes copied), with one difference:

* ``globalDefault`` is always ``false`` (left out) on the copy.  Kubernetes allows one
  global default per cluster, so a host default copied as such would make the
  virtual API server refuse a tenant's own default (or the copy, when the
  tenant's came first); and the host's admission still gives its default to
  every host pod without a class, so scheduling on the host is unchanged.
* ``value`` is copied as it is: the host decides priorities.  Classes the
  virtual API server makes itself (``system-cluster-critical``,
  ``system-node-critical``) carry no copy label and are never touched.

With ``VSYNCER_TO_HOST_PRIORITY_CLASSES`` the kind runs the other way instead
(:mod:`mappers.priorityclasses_tohost`); :func:`make` picks the direction.
"""

from __future__ import annotations

from mappers.priorityclasses_tohost import PriorityClassMapper
from syncer.api import PRIORITYCLASSES, MapperConfig, Obj, Translator
from syncer.kit import Json
from syncer.kit.fromhost import FromHostCopier


class PriorityClassCopier(FromHostCopier):
    """Copies the host's priority classes, never as the virtual cluster's global default."""

    def virtual_copy(self, p_obj: Obj) -> Json:
        body = super().virtual_copy(p_obj)
        body.pop("globalDefault", None)  # false, as the API server writes it (omitted)
        return body


def make(
    *, translator: Translator, config: MapperConfig | None = None
) -> PriorityClassCopier | PriorityClassMapper:
    """Entry-point factory: the tenant's classes down with ``to_host_priority_classes``, else
    the host's up."""
    if config is not None and config.to_host_priority_classes:
        return PriorityClassMapper(translator=translator)
    selector = config.from_host_label_selector if config is not None else None
    return PriorityClassCopier(
        resource=PRIORITYCLASSES, translator=translator, label_selector=selector
    )
