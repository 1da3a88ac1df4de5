"""API keys: making them, and finding the token and user behind `sk-...` on every relay call.

Keys are `sk-` + 48 letters and digits. Only a keyed hash is stored (and an encrypted copy so the
owner can see the key again); lookups go through short-lived in-memory caches, which are dropped on
this node whenever the token or user changes.
"""
import dataclasses
import ipaddress
import time

from models.tokens import NEVER, STATUS_ENABLED
from models.users import ROLE_ADMIN
from models.users import STATUS_ENABLED as USER_ENABLED
from models.tokens import Token
from models.users import User
from services.cache import SharedCache, TtlCache
from services.errors import RelayError
from services.secrets import random_text

KEY_LENGTH = 48


def new_key() -> str:
    return random_text(KEY_LENGTH)


def mask(key: str) -> str:
    return f"sk-{key[:4]}{'*' * 10}{key[-4:]}"


@dataclasses.dataclass
class Caller:
    token: object
    user: object
    pinned_channel: int = 0


def split_key(header_value: str):
    """`Bearer sk-KEY[-CHANNEL]` → (KEY, CHANNEL or 0). Empty key when the header has none."""
    value = (header_value or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if value.startswith("sk-"):
        value = value[3:]
    key, _, rest = value.partition("-")
    channel = int(rest) if rest.isascii() and rest.isdigit() else 0
    return key, channel


class KeyResolver:
    """Tokens and users by key hash and id: process memory first, then Redis (when configured and
    answering), then MongoDB."""

    def __init__(self, db, keyring, cache_seconds: float, guard=None, redis_seconds: int = 60, limits=None):
        self.db = db
        self.limits = limits    # per-token requests-per-minute limits
        self.keyring = keyring
        self.tokens = TtlCache(cache_seconds)
        self.users = TtlCache(cache_seconds)
        self.shared = SharedCache(guard, redis_seconds) if guard is not None else None

    async def token(self, key: str):
        key_hash = self.keyring.hash(key)
        return await self.tokens.get(key_hash, lambda: self._load("token", key_hash, Token,
                                                                  self.db.tokens.by_key_hash))

    async def user(self, user_id: int):
        return await self.users.get(user_id, lambda: self._load("user", user_id, User, self.db.users.get))

    async def _load(self, kind, ident, cls, from_db):
        if self.shared is not None:
            found = await self.shared.get(kind, ident, cls)
            if found is not None:
                return found
        found = await from_db(ident)
        if found is not None and self.shared is not None:
            await self.shared.put(kind, ident, found)
        return found

    async def forget_token(self, key_hash: str):
        self.tokens.drop(key_hash)
        if self.shared is not None:
            await self.shared.drop("token", key_hash)

    def forget_everyone(self, _=None):
        """Drop every cached token and user of this process (something changed somewhere)."""
        self.tokens.clear()
        self.users.clear()

    async def forget_user(self, user_id: int):
        self.users.drop(user_id)
        if self.shared is not None:
            await self.shared.drop("user", user_id)

    async def resolve(self, header_value: str, client_ip: str = "") -> Caller:
        """The caller behind an Authorization header, or a RelayError saying why not."""
        key, channel = split_key(header_value)
        if not key:
            raise RelayError(401, "No API key was given; send it as 'Authorization: Bearer sk-...'.",
                             "missing_api_key", "invalid_request_error")
        token = await self.token(key) if len(key) <= 128 else None
        if token is None:
            raise RelayError(401, "Invalid API key.", "invalid_api_key", "invalid_request_error")
        check_token(token, client_ip)
        user = await self.user(token.user_id)
        if user is None or user.status != USER_ENABLED:
            raise RelayError(403, "The owner of this key is disabled.", "user_disabled")
        if channel and user.role < ROLE_ADMIN:
            raise RelayError(403, "Only administrators may choose a channel in the key.", "channel_pin_forbidden")
        if token.rpm_limit and self.limits is not None and not await self.limits.allow(
                "token-rpm", token.id, token.rpm_limit, 60):
            raise RelayError(429, f"This API key allows {token.rpm_limit} requests per minute; try again shortly.",
                             "rate_limit_exceeded", "rate_limit_error")
        return Caller(token, user, channel)


def check_token(token, client_ip: str):
    if token.status != STATUS_ENABLED:
        raise RelayError(401, "This API key is disabled.", "token_disabled", "invalid_request_error")
    if token.expired_time != NEVER and token.expired_time < time.time():
        raise RelayError(401, "This API key has expired.", "token_expired", "invalid_request_error")
    if not token.unlimited_quota and token.balance <= 0:
        raise RelayError(403, "This API key has no quota left.", "token_quota_exhausted", "insufficient_quota")
    if token.subnet and not ip_allowed(token.subnet, client_ip):
        raise RelayError(403, "This API key may not be used from this address.", "ip_not_allowed")


def ip_allowed(subnets: str, client_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    for item in subnets.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False
