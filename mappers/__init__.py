"""Built-in resource mappers.

They register through the ``vsyncer.mappers`` entry-point group exactly like
third-party plugins, and import nothing from :mod:`syncer` but its public plugin
surface, :mod:`syncer.api`.
"""
