"""Token (API key) rules for their owners: create (one or a batch), list, search, edit, reveal, delete;
and a key-less view of every token for administrators."""
import ipaddress
import time

from models.tokens import NEVER, STATUS_DISABLED, STATUS_ENABLED, Token
from services.errors import NotFound, ServiceError
from services.keys import mask, new_key, split_key

MAX_NAME = 30
MAX_BATCH = 100
BILLING_MODES = ("ratio", "per_call")


class TokenError(ServiceError):
    pass


def _whole(data, name):
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TokenError(f"{name} must be a whole number")
    return value


def _models(data) -> list:
    """`models` (One API: comma list) or New API's `model_limits` when `model_limits_enabled`."""
    models = data["models"] if "models" in data else data.get("model_limits", "")
    if "models" not in data and not data.get("model_limits_enabled", True):
        models = ""
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    if not isinstance(models, list) or not all(isinstance(m, str) and m.strip() for m in models):
        raise TokenError("models must be a comma-separated string or a list of model names")
    return list(dict.fromkeys(m.strip() for m in models))


def _subnet(value) -> str:
    """Allowed addresses: IPs or CIDR ranges, separated by commas or new lines; each must parse."""
    if not isinstance(value, str):
        raise TokenError("subnet must be text: IP addresses or CIDR ranges separated by commas")
    items = [i.strip() for i in value.replace("\n", ",").split(",") if i.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise TokenError(f"subnet: {item!r} is not an IP address or CIDR range") from None
    return ",".join(items)


def clean_fields(data: dict, current: Token = None) -> dict:
    """The editable fields of a token from API input, checked and normalised; `current` when editing."""
    fields = {}
    if "name" in data:
        if not isinstance(data["name"], str) or len(data["name"].strip()) > MAX_NAME:
            raise TokenError(f"name must be text of at most {MAX_NAME} characters")
        fields["name"] = data["name"].strip()
    for name in ("remain_quota", "expired_time", "rpm_limit"):
        if name in data:
            fields[name] = _whole(data, name)
    for name in ("remain_quota", "rpm_limit"):
        if fields.get(name, 0) < 0:
            raise TokenError(f"{name} must not be negative")
    expiry = fields.get("expired_time")
    unchanged = current is not None and expiry == current.expired_time
    if expiry is not None and expiry != NEVER and not unchanged and expiry <= time.time():
        raise TokenError("expired_time must be -1 (never) or a time in the future")
    if "unlimited_quota" in data:
        if not isinstance(data["unlimited_quota"], bool):
            raise TokenError("unlimited_quota must be true or false")
        fields["unlimited_quota"] = data["unlimited_quota"]
    if "models" in data or "model_limits" in data:
        fields["models"] = _models(data)
    if "subnet" in data or "allow_ips" in data:
        fields["subnet"] = _subnet(data["subnet"] if "subnet" in data else data["allow_ips"])
    if "group" in data:
        if not isinstance(data["group"], str):
            raise TokenError("group must be text")
        fields["group"] = data["group"].strip()
    if "billing_mode" in data:
        if data["billing_mode"] not in BILLING_MODES:
            raise TokenError("billing_mode must be ratio or per_call")
        fields["billing_mode"] = data["billing_mode"]
    return fields


def public_token(token: Token, with_key: bool = True) -> dict:
    """A token as the API shows it: the key masked (or left out, for administrators' views)."""
    shown = {
        "id": token.id, "user_id": token.user_id, "name": token.name, "key": token.key_mask,
        "status": token.status, "created_time": token.created_time, "accessed_time": token.accessed_time,
        "expired_time": token.expired_time, "remain_quota": token.balance,
        "unlimited_quota": token.unlimited_quota, "used_quota": token.used_quota,
        "models": ",".join(token.models), "model_limits_enabled": bool(token.models),
        "model_limits": ",".join(token.models), "subnet": token.subnet, "allow_ips": token.subnet,
        "group": token.group, "billing_mode": token.billing_mode, "rpm_limit": token.rpm_limit,
    }
    if not with_key:
        del shown["key"]
    return shown


def usable_groups(user, options) -> list:
    """The groups a user may give a token: their own group plus those of the UserUsableGroups option."""
    groups = [user.group]
    try:
        extra = options["UserUsableGroups"]
    except KeyError:          # the option is not defined on this version
        extra = {}
    if isinstance(extra, dict):
        groups += [g for g in extra if g not in groups]
    return groups


class TokenService:
    def __init__(self, db, keyring, changes, options=None):
        self.db = db
        self.keyring = keyring
        self.changes = changes
        self.options = options or {}

    def _new(self, user_id: int, fields: dict):
        key = new_key()
        token = Token(id=0, user_id=user_id, key_hash=self.keyring.hash(key), key_enc=self.keyring.encrypt(key),
                      key_mask=mask(key), created_time=int(time.time()), **fields)
        return token, "sk-" + key

    async def _checked_new_fields(self, user_id: int, data: dict) -> dict:
        fields = clean_fields(data)
        if not fields.get("name"):
            raise TokenError("name is required")
        await self._check_group(user_id, fields.get("group", ""))
        return fields

    async def _check_group(self, user_id: int, group: str):
        if not group:
            return
        user = await self.db.users.get(user_id)
        if user is None or group not in usable_groups(user, self.options):
            raise TokenError(f"you may not use the group {group!r}", 403)

    async def create(self, user_id: int, data: dict):
        """A new token; returns it and its full key (the only time the key is sent unasked)."""
        token, key = self._new(user_id, await self._checked_new_fields(user_id, data))
        await self.db.tokens.create(token)
        return token, key

    async def create_batch(self, user_id: int, data: dict):
        """`count` tokens from one template, named `name-1` … `name-N`; returns [(token, key)]."""
        count = data.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
            raise TokenError(f"count must be a whole number from 1 to {MAX_BATCH}")
        fields = await self._checked_new_fields(user_id, data)
        if len(f"{fields['name']}-{count}") > MAX_NAME:
            raise TokenError(f"name is too long for numbered names of at most {MAX_NAME} characters")
        made = [self._new(user_id, {**fields, "name": f"{fields['name']}-{i}"}) for i in range(1, count + 1)]
        await self.db.tokens.create_many([token for token, _ in made])
        return made

    async def update(self, user_id: int, token_id: int, data: dict, status_only=False) -> Token:
        token = await self.get(user_id, token_id)
        fields = {} if status_only else clean_fields(data, token)
        if fields.get("group", token.group) != token.group:
            await self._check_group(user_id, fields["group"])
        if "status" in data:
            fields["status"] = self._checked_status(token, fields, data["status"])
        elif status_only:
            raise TokenError("status is required")
        await self.db.tokens.update(token_id, fields, user_id)
        await self.changes.publish("token", token.key_hash)   # the relay must see the change at once
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
        deleted = await self.db.tokens.delete(token_id, user_id)
        await self.changes.publish("token", token.key_hash)
        return deleted

    async def delete_many(self, user_id: int, ids) -> int:
        """Delete the caller's tokens among `ids` (others' ids are skipped); returns how many went."""
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool)
                                                           for i in ids):
            raise TokenError("ids must be a non-empty list of token ids")
        if len(ids) > MAX_BATCH * 10:
            raise TokenError(f"at most {MAX_BATCH * 10} ids at once")
        tokens = await self.db.tokens.of_user(user_id, ids)
        deleted = await self.db.tokens.delete_many([t.id for t in tokens], user_id)
        for token in tokens:
            await self.changes.publish("token", token.key_hash)
        return deleted

    async def page(self, user_id, keyword: str, page: int, size: int, key: str = "", with_key: bool = True):
        """One page of a user's tokens (user_id None: everyone's), by name part and/or full key."""
        size = max(1, min(size, 100))
        key_hash = self.keyring.hash(split_key(key)[0]) if key else ""
        tokens, total = await self.db.tokens.page(user_id, keyword, max(page - 1, 0) * size, size, key_hash)
        return [public_token(t, with_key) for t in tokens], total
