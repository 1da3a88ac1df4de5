"""Password hashing with Argon2id, run off the event loop (each hash takes tens of milliseconds)."""
import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def verify_password(stored_hash: str, password: str) -> bool:
    def check():
        try:
            return _hasher.verify(stored_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False

    if not stored_hash:
        return False
    return await asyncio.get_running_loop().run_in_executor(None, check)
