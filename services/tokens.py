"""Token (API key) rules for their owners: create, list, edit, reveal, delete."""
import time

from models.tokens import NEVER, STATUS_DISABLED, STATUS_ENABLED, Token
from services.errors import NotFound, ServiceError
from services.keys import mask, new_key

MAX_NAME = 30


class TokenError(ServiceError):
    pass


def clean_fields(data: dict) -> dict:
    """The editable fields of a token from API input, checked and normalised."""
    fields = {}
    if "name" in data:
        if not isinstance(data["name"], str) or len(data["name"]) > MAX_NAME:
            raise TokenError(f"name must be text of at most {MAX_NAME} characters")
        fields["name"] = data["name"].strip()
    for name in ("remain_quota", "expired_time"):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise TokenError(f"{name} must be a whole number")
            fields[name] = value
    if fields.get("remain_quota", 0) < 0:
        raise TokenError("remain_quota must not be negative")
    if "expired_time" in fields and fields["expired_time"] != NEVER and fields["expired_time"] <= time.time():
        raise TokenError("expired_time must be -1 (never) or a time in the future")
    if "unlimited_quota" in data:
        fields["unlimited_quota"] = bool(data["unlimited_quota"])
    if "models" in data:
        models = data["models"]
        if isinstance(models, str):
            models = [m.strip() for m in models.split(",") if m.strip()]
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise TokenError("models must be a comma-separated string or a list of model names")
        fields["models"] = models
    for name in ("subnet", "group"):
        if name in data:
            if not isinstance(data[name], str):
                raise TokenError(f"{name} must be text")
            fields[name] = data[name].strip()
    if "billing_mode" in data:
        if data["billing_mode"] not in ("ratio", "per_call"):
            raise TokenError("billing_mode must be ratio or per_call")
        fields["billing_mode"] = data["billing_mode"]
    return fields


def public_token(token: Token) -> dict:
    return {
        "id": token.id, "user_id": token.user_id, "name": token.name, "key": token.key_mask,
        "status": token.status, "created_time": token.created_time, "accessed_time": token.accessed_time,
        "expired_time": token.expired_time, "remain_quota": token.remain_quota,
        "unlimited_quota": token.unlimited_quota, "used_quota": token.used_quota,
        "models": ",".join(token.models), "subnet": token.subnet, "group": token.group,
        "billing_mode": token.billing_mode,
    }


class TokenService:
    def __init__(self, db, keyring, changes):
        self.db = db
        self.keyring = keyring
        self.changes = changes

    async def create(self, user_id: int, data: dict):
        """A new token; returns it and its full key (the only time the key is sent unasked)."""
        fields = clean_fields(data)
        if not fields.get("name"):
            raise TokenError("name is required")
        key = new_key()
        token = Token(id=0, user_id=user_id, key_hash=self.keyring.hash(key), key_enc=self.keyring.encrypt(key),
                      key_mask=mask(key), created_time=int(time.time()), **fields)
        await self.db.tokens.create(token)
        return token, "sk-" + key

    async def update(self, user_id: int, token_id: int, data: dict, status_only=False) -> Token:
        token = await self.get(user_id, token_id)
        fields = {} if status_only else clean_fields(data)
        if "status" in data:
            fields["status"] = self._checked_status(token, fields, data["status"])
        await self.db.tokens.update(token_id, fields, user_id)
        await self.changes.publish("token", token.key_hash)
        return await self.db.tokens.get(token_id, user_id)

    @staticmethod
    def _checked_status(token, fields, status):
        if status not in (STATUS_ENABLED, STATUS_DISABLED):
            raise TokenError("status must be 1 (enabled) or 2 (disabled)")
        if status == STATUS_ENABLED:
            expired = fields.get("expired_time", token.expired_time)
            if expired != NEVER and expired <= time.time():
                raise TokenError("this token has expired; change its expiry before enabling it")
            unlimited = fields.get("unlimited_quota", token.unlimited_quota)
            if not unlimited and fields.get("remain_quota", token.remain_quota) <= 0:
                raise TokenError("this token has no quota left; add quota before enabling it")
        return status

    async def get(self, user_id: int, token_id: int) -> Token:
        token = await self.db.tokens.get(token_id, user_id)
        if token is None:
            raise NotFound("no such token")
        return token

    async def reveal(self, user_id: int, token_id: int) -> str:
        token = await self.get(user_id, token_id)
        return "sk-" + self.keyring.decrypt(token.key_enc)

    async def delete(self, user_id: int, token_id: int) -> bool:
        token = await self.db.tokens.get(token_id, user_id)
        if token is None:
            return False
        await self.changes.publish("token", token.key_hash)
        return await self.db.tokens.delete(token_id, user_id)

    async def page(self, user_id: int, keyword: str, page: int, size: int):
        size = max(1, min(size, 100))
        tokens, total = await self.db.tokens.page(user_id, keyword, max(page - 1, 0) * size, size)
        return [public_token(t) for t in tokens], total
