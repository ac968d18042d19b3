"""Pipelines: the project file, steps and their cache, and the fan-out of segments
onto local processes, Dask or Ray."""
