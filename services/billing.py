"""Quota maths around one request: pre-charge the estimate, settle to real usage, refund failures.

Every balance move is one atomic conditional update (models/quota.py), so no balance goes below zero
however many requests run at once. A request whose real cost exceeds what is left is charged down to
zero and the unpaid remainder is written on its log entry.
"""
import dataclasses
import time

from models.logs import TYPE_CONSUME
from services.errors import RelayError


@dataclasses.dataclass
class Charge:
    token: object
    user: object
    pre_charged: int = 0
    settled: bool = False


class Billing:
    def __init__(self, db, options):
        self.db = db
        self.options = options

    async def pre_charge(self, token, user, amount: int) -> Charge:
        """Take the estimate from the token (unless unlimited) and the user, or refuse the request."""
        charge = Charge(token, user, amount)
        if amount <= 0:
            return charge
        if not token.unlimited_quota and not await self.db.tokens.take_quota(token.id, amount):
            raise RelayError(403, f"This API key has not enough quota left for this request (needs {amount}).",
                             "pre_consume_token_quota_failed", "insufficient_quota")
        if not await self.db.users.take_quota(user.id, amount):
            if not token.unlimited_quota:
                await self.db.tokens.give_quota(token.id, amount)
            raise RelayError(403, f"Your account has not enough quota left for this request (needs {amount}).",
                             "insufficient_user_quota", "insufficient_quota")
        return charge

    async def refund(self, charge: Charge):
        """Give back the whole pre-charge of a request that failed. Safe to call twice."""
        if charge.settled:
            return
        charge.settled = True
        await self._move(charge, -charge.pre_charged)

    async def settle(self, charge: Charge, actual: int):
        """Charge the real cost: take or give back the difference to the pre-charge.
        Returns (charged, unpaid)."""
        if charge.settled:
            return 0, 0
        charge.settled = True
        delta = actual - charge.pre_charged
        taken = await self._move(charge, delta)
        charged = charge.pre_charged + taken
        now = int(time.time())
        await self.db.users.record_use(charge.user.id, charged)
        await self.db.tokens.record_use(charge.token.id, charged, now)
        return charged, actual - charged

    async def _move(self, charge: Charge, delta: int) -> int:
        """Apply `delta` (positive: take more, negative: give back). Returns what was taken."""
        token, user = charge.token, charge.user
        if delta < 0:
            if not token.unlimited_quota:
                await self.db.tokens.give_quota(token.id, -delta)
            await self.db.users.give_quota(user.id, -delta)
            return delta
        if delta == 0:
            return 0
        if token.unlimited_quota:
            return await self.db.users.take_quota_up_to(user.id, delta)
        # What is paid is what both balances can give: take from the token, then the same from the
        # user, and hand the token back whatever the user could not match.
        taken = await self.db.tokens.take_quota_up_to(token.id, delta)
        paid = await self.db.users.take_quota_up_to(user.id, taken) if taken else 0
        if paid < taken:
            await self.db.tokens.give_quota(token.id, taken - paid)
        return paid

    async def log_consumption(self, entry: dict):
        entry.setdefault("type", TYPE_CONSUME)
        entry.setdefault("created_at", int(time.time()))
        await self.db.logs.insert(entry)
