"""Password hashes (Argon2id) and API tokens (random, stored as SHA-256).

Passwords are low-entropy, so they get a slow, salted, memory-hard hash.
Tokens are 256 random bits: a fast hash is enough to make a stolen table
useless, and it lets a request find its token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

TOKEN_PREFIX = "lml_"


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # Argon2id, with the library's current recommended costs


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
