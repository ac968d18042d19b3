"""Datasets: immutable versions addressed by content hash, profiles, validation rules, lineage.

``fluent`` is the module-level API re-exported from ``loopml``; ``service``
holds the same operations on an explicit store and artifact store.
"""
