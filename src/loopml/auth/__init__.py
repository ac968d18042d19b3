"""Users, roles, API and service tokens, password hashing and permission checks.

Nothing here speaks HTTP: the server's middleware (``loopml.api.auth``) reads
credentials from a request and asks this package who they belong to and what
that principal may do.
"""
