"""Built-in resource mappers.

They register through the ``vsyncer.mappers`` entry-point group exactly like
third-party plugins, and import nothing from :mod:`syncer` but its public plugin
surface, :mod:`syncer.api`.

Building blocks: :mod:`mappers.generic` (pure name/metadata translation),
:mod:`mappers.copysync` (the reconcile of copied kinds), :mod:`mappers.references`
(what a pod refers to), :mod:`mappers.referenced` (kinds synced while referenced),
:mod:`mappers.podspec` and :mod:`mappers.tokens` (pod translation, service-account
tokens).  Kinds: pods, services, endpoints, configmaps, secrets,
persistentvolumeclaims (toHost); events, nodes (fromHost).
"""
