"""Password hashing (argon2) and opaque secrets (tokens, API keys) stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
API_KEY_PREFIX = "emk_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# The mark of an account without a password yet (invited, not activated): never an argon2 hash, so no
# password matches it (``Account.activated`` reads the same mark).
UNUSABLE_PREFIX = "!"


def unusable_password() -> str:
    return UNUSABLE_PREFIX + secrets.token_hex(16)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones (rehash at next login)."""
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def key_prefix(key: str) -> str:
    """The start of an API key kept in clear so administrators can tell keys apart (never enough to use)."""
    return key[:12]


def digest(secret: str) -> str:
    """Tokens and keys are high-entropy, so a plain SHA-256 is a safe lookup digest (no salt needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
