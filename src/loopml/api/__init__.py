"""The REST API: one router per resource, each a thin adapter over service functions."""
