"""Serving: real-time and batch predictions for many models, with zero-downtime swaps.

The core (``rows``, ``payloads``, ``batcher``, ``pool``, ``router``, ``engine``,
``batch``) has no web framework in it; ``routes/`` adapts it to HTTP.
"""
