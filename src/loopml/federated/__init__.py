"""Federated learning: organisations train one model family together, each keeping its data.

NVIDIA FLARE runs the rounds (transport, aggregation, quorum); loopml adds the
federation as a record in each store, the participants' fingerprints, the
rounds as tracked runs, the global model as a registry version, and a gate and
an approval at every participant. The public API is in ``fluent``.
"""
