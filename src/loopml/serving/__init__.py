"""Serving: prediction routes, routing, hot swap and the prediction log."""
