"""Built-in resource mappers.

They register through the ``vsyncer.mappers`` entry-point group exactly like
third-party plugins, and import nothing from :mod:`syncer` but its public plugin
surface, :mod:`syncer.api`, and the public mapper kit, :mod:`syncer.kit`.

Building blocks: :mod:`mappers.references` (what a pod refers to),
:mod:`mappers.referenced` (configmaps and secrets synced while a pod refers to them),
:mod:`mappers.podspec` and :mod:`mappers.tokens` (pod translation, service-account
tokens).  Kinds: pods, services, endpoints, configmaps, secrets,
persistentvolumeclaims (toHost); events, nodes (fromHost).
"""
