"""Label keys a tenant may not set on host objects as they are: the host label denylist.

Host tools select objects by label and then *consume* them: Grafana's dashboard
and datasource sidecar loads every ConfigMap labelled ``grafana_dashboard`` /
``grafana_datasource`` in the namespaces it watches, Helm reads its release
records from the Secrets labelled ``owner=helm`` in the release namespace (a
forged record with a higher version becomes the release's "current" manifest,
whose objects a later ``helm upgrade`` deletes), Argo CD reads cluster and
repository credentials from Secrets labelled ``argocd.argoproj.io/secret-type``,
Flux tracks what it applied by its ``*.toolkit.fluxcd.io/`` labels.  Every
synced object lands in the host namespace, so a tenant label with such a key
would hand the tenant's content to the tool.

vcluster renames only the label keys that collide with its own (``release``, its
markers); vsyncer renames, in the same way and to the same key space
(``vcluster.loft.sh/label-<vcluster>-x-<sha256(key)[:10]>``,
:meth:`syncer.translate.Translator.translate_label_key`), every key this list
denies.  Selectors are translated with the same function, so a tenant's Service
that selects its pods by such a key still selects them on the host; the key and
value stay on the virtual object unchanged (a pod's denied labels are copied
down one way only, never merged back up).

Guarantees:

* :meth:`HostLabelDenylist.denies` is one set lookup and one ``str.startswith``
  over a precomputed tuple: constant work per key, whatever the host load.
* An entry is a label key (denied exactly) or a key prefix ending in ``*``
  (``argocd.argoproj.io/*`` denies every key starting ``argocd.argoproj.io/``);
  :func:`parse_entries` refuses anything else (``ValueError`` naming the entry),
  so a typo is a start-up error, not a silently open key.  It also refuses an
  entry that denies any key in the syncers' own key space
  (:data:`RESERVED_KEY_PREFIXES`), where renamed keys and markers live; so no
  key the syncer writes is ever a denied key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Key prefixes of the syncers' own labels and annotations on host objects.  A tenant's
#: label under one is renamed like a colliding key (so it cannot pose as a marker, a
#: namespace-label copy or a token secret); a tenant's annotation under one never
#: reaches the host (:func:`syncer.translate.is_reserved_key`).  No denylist entry may
#: reach into them: the renamed keys live there.
RESERVED_KEY_PREFIXES = ("vcluster.loft.sh/", "vsyncer.dev/")

#: The default entries (the module docstring says who reads each key on the host).
DEFAULT_HOST_LABEL_DENYLIST = (
    "grafana_*",
    "owner",
    "argocd.argoproj.io/*",
    "kustomize.toolkit.fluxcd.io/*",
    "helm.toolkit.fluxcd.io/*",
)

# A label key (optional DNS-subdomain prefix, '/', name) or a prefix of one, before the '*'.
_ENTRY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PREFIX = re.compile(r"([a-z0-9][-a-z0-9.]*/?)?[A-Za-z0-9_.\-]*")


def parse_entries(entries: Iterable[str]) -> tuple[str, ...]:
    """``entries`` stripped, empty ones left out; ``ValueError`` for one that is neither
    a label key nor a non-empty prefix ending in ``*``."""
    parsed: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if entry.endswith("*"):
            ok = len(entry) > 1 and bool(_PREFIX.fullmatch(entry[:-1]))
        else:
            ok = bool(_ENTRY.fullmatch(entry))
        if not ok:
            raise ValueError(
                f"{entry!r} is neither a label key (grafana_dashboard) nor a key prefix"
                " ending in * (argocd.argoproj.io/*)"
            )
        start = entry.removesuffix("*")
        if any(start.startswith(p) or p.startswith(start) for p in RESERVED_KEY_PREFIXES):
            raise ValueError(
                f"{entry!r} reaches into the syncers' own keys ({', '.join(RESERVED_KEY_PREFIXES)}"
                "), which tenant labels never reach as they are anyway"
            )
        parsed.append(entry)
    return tuple(parsed)


@dataclass(frozen=True, slots=True)
class HostLabelDenylist:
    """Label keys denied exactly (``keys``) or by prefix (``prefixes``, without the ``*``)."""

    keys: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> HostLabelDenylist:
        """The denylist of setting entries (:func:`parse_entries`; ``ValueError`` as there)."""
        parsed = parse_entries(entries)
        return cls(
            keys=frozenset(e for e in parsed if not e.endswith("*")),
            prefixes=tuple(sorted({e[:-1] for e in parsed if e.endswith("*")})),
        )

    def denies(self, key: str) -> bool:
        """Whether the label ``key`` may not reach the host as it is."""
        return key in self.keys or key.startswith(self.prefixes)


#: The denylist when none is configured (:data:`DEFAULT_HOST_LABEL_DENYLIST`).
DEFAULT_DENYLIST = HostLabelDenylist.of(DEFAULT_HOST_LABEL_DENYLIST)
