"""Redemption codes: administrators make them in batches; a user redeems one for its quota, once.

Redeeming claims the code with one conditional update (enabled → used) before any quota moves, so
however many requests race for a code, exactly one gets its quota.
"""
import time

from models.logs import TYPE_TOPUP
from models.redemptions import STATUS_DISABLED, STATUS_ENABLED, STATUS_USED, KeyTaken, Redemption
from services.errors import NotFound, ServiceError
from services.keys import Caller
from services.secrets import random_text

KEY_LENGTH = 32
MAX_NAME = 20
MAX_BATCH = 100

RECOVER_AFTER = 60    # seconds after a claim before an uncredited code counts as left half done


class RedemptionError(ServiceError):
    pass


def public_redemption(code: Redemption) -> dict:
    return {
        "id": code.id, "key": code.key, "name": code.name, "quota": code.quota, "status": code.status,
        "user_id": code.user_id, "created_time": code.created_time, "redeemed_time": code.redeemed_time,
        "used_user_id": code.used_user_id,
    }


def _name(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_NAME:
        raise RedemptionError(f"name must be 1 to {MAX_NAME} characters")
    return value.strip()


def _positive(data: dict, name: str, maximum=None) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RedemptionError(f"{name} must be a whole number of 1 or more")
    if maximum is not None and value > maximum:
        raise RedemptionError(f"{name} must be at most {maximum}")
    return value


class RedemptionService:
    def __init__(self, db, accounts, logs):
        self.db = db
        self.accounts = accounts
        self.logs = logs

    async def create(self, admin, data: dict) -> list:
        """`count` new codes named `name`, each worth `quota`; returns their keys."""
        name, quota = _name(data.get("name")), _positive(data, "quota")
        count = _positive(data, "count", MAX_BATCH) if "count" in data else 1
        now, keys = int(time.time()), []
        while len(keys) < count:
            code = Redemption(id=0, key=random_text(KEY_LENGTH), name=name, quota=quota, user_id=admin.id,
                              created_time=now)
            try:
                await self.db.redemptions.create(code)
            except KeyTaken:       # 62^32 keys: practically never, but never a duplicate either
                continue
            keys.append(code.key)
        return keys

    async def get(self, redemption_id: int) -> Redemption:
        code = await self.db.redemptions.get(redemption_id)
        if code is None:
            raise NotFound("no such redemption code")
        return code

    async def page(self, keyword: str, page: int, size: int):
        codes, total = await self.db.redemptions.page(keyword, (page - 1) * size, size)
        return [public_redemption(c) for c in codes], total

    async def update(self, data: dict, status_only: bool = False) -> Redemption:
        code = await self.get(_positive(data, "id"))
        fields = {}
        if not status_only:
            if "name" in data:
                fields["name"] = _name(data["name"])
            if "quota" in data:
                fields["quota"] = _positive(data, "quota")
        if "status" in data:
            if data["status"] not in (STATUS_ENABLED, STATUS_DISABLED):
                raise RedemptionError("status must be 1 (enabled) or 2 (disabled)")
            fields["status"] = data["status"]
        if code.status == STATUS_USED:
            raise RedemptionError("this code has been used and can no longer be changed", 409)
        if fields and not await self.db.redemptions.update_unused(code.id, fields):
            raise RedemptionError("this code was used meanwhile and can no longer be changed", 409)
        return await self.get(code.id)

    async def delete(self, redemption_id: int):
        if not await self.db.redemptions.delete(redemption_id):
            raise NotFound("no such redemption code")

    async def delete_invalid(self) -> int:
        return await self.db.redemptions.delete_invalid()

    async def redeem(self, user, key) -> int:
        """Claim the code for `user` and add its quota; returns the quota added."""
        if not isinstance(key, str) or not key.strip():
            raise RedemptionError("key is required")
        key = key.strip()
        code = await self.db.redemptions.claim(key, user.id, int(time.time())) if len(key) <= 64 else None
        if code is None:
            raise await self._why_not(key)
        await self._credit(user, code)
        return code.quota

    async def _credit(self, user, code):
        """Add a claimed code's quota with the code as reference, so that `recover_uncredited` can finish
        the job of a process that died between the claim and the credit, never crediting twice."""
        if await self.db.users.credit_once(user.id, code.quota, f"redeem:{code.id}"):
            await self.logs.write(Caller(None, user), TYPE_TOPUP,
                                  f"redeemed code {code.name} (#{code.id}) for {code.quota} quota",
                                  quota=code.quota, other={"redemption_id": code.id})
        await self.db.redemptions.mark_credited(code.id)
        await self.accounts.forget(user.id)

    async def recover_uncredited(self, now: float = None):
        """Credit codes claimed more than a minute ago but left uncredited (run by the job-lease holder)."""
        for code in await self.db.redemptions.uncredited(int((now or time.time()) - RECOVER_AFTER)):
            user = await self.db.users.get(code.used_user_id)
            if user is not None:
                await self._credit(user, code)

    async def _why_not(self, key: str) -> RedemptionError:
        code = await self.db.redemptions.by_key(key) if len(key) <= 64 else None
        if code is None:
            return RedemptionError("no such redemption code", 404)
        if code.status == STATUS_USED:
            return RedemptionError("this code has already been used", 409)
        return RedemptionError("this code is disabled", 403)
