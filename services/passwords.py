"""Password hashing with Argon2id, run off the event loop (each hash takes tens of milliseconds).

Accounts imported from One API / New API carry bcrypt hashes (`$2a$`/`$2b$`/`$2y$`); those verify too,
and `needs_rehash` tells the login to store an Argon2 hash in their place.
"""
import asyncio

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

_hasher = PasswordHasher()
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


def _check(stored_hash: str, password: str) -> bool:
    if stored_hash.startswith(BCRYPT_PREFIXES):
        try:
            return bcrypt.checkpw(password.encode(), stored_hash.encode())
        except ValueError:      # malformed hash, or a password past bcrypt's 72 bytes
            return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


async def verify_password(stored_hash: str, password: str) -> bool:
    if not stored_hash:
        return False
    return await asyncio.get_running_loop().run_in_executor(None, _check, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    """True for hashes from older schemes or weaker Argon2 parameters than the current ones."""
    if stored_hash.startswith(BCRYPT_PREFIXES):
        return True
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False
