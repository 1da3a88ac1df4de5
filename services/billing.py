"""Quota maths around one request: pre-charge the estimate, settle to real usage, refund failures.

Balances move through the quota book (services/quota_book.py): from this process's reserve when it has
enough, else by one atomic conditional update in MongoDB, so no balance goes below zero however many
requests and processes run at once. A request whose real cost exceeds what is left is charged down to
zero and the unpaid remainder is written on its log entry. Usage counters go through the batch writer.
"""
import dataclasses
import time

from services import metrics
from services.errors import RelayError


@dataclasses.dataclass
class Charge:
    token: object
    user: object
    pre_charged: int = 0
    settled: bool = False


class Billing:
    def __init__(self, book, batch):
        self.book = book      # services.quota_book.QuotaBook
        self.batch = batch    # services.batch_writer.BatchWriter

    async def pre_charge(self, token, user, amount: int) -> Charge:
        """Take the estimate from the token (unless unlimited) and the user, or refuse the request.
        While the log buffer is full, wait first: the request will add an entry to it."""
        if self.batch.full:
            await self.batch.room()
        charge = Charge(token, user, amount)
        if amount <= 0:
            return charge
        if not token.unlimited_quota and not await self.book.take("token", token.id, amount):
            raise RelayError(403, f"This API key has not enough quota left for this request (needs {amount}).",
                             "pre_consume_token_quota_failed", "insufficient_quota")
        if not await self.book.take("user", user.id, amount):
            if not token.unlimited_quota:
                self.book.give("token", token.id, amount)
            raise RelayError(403, f"Your account has not enough quota left for this request (needs {amount}).",
                             "insufficient_user_quota", "insufficient_quota")
        return charge

    async def refund(self, charge: Charge):
        """Give back the whole pre-charge of a request that failed. Safe to call twice."""
        if charge.settled:
            return
        charge.settled = True
        self._give(charge, charge.pre_charged)

    async def settle(self, charge: Charge, actual: int):
        """Charge the real cost: take or give back the difference to the pre-charge.
        Returns (charged, unpaid)."""
        if charge.settled:
            return 0, 0
        charge.settled = True
        delta = actual - charge.pre_charged
        if delta < 0:
            self._give(charge, -delta)
            taken = delta
        else:
            taken = await self._take_more(charge, delta)
        charged = charge.pre_charged + taken
        self.batch.add_usage("user", charge.user.id, used_quota=charged, request_count=1)
        self.batch.add_usage("token", charge.token.id, used_quota=charged,
                             latest={"accessed_time": int(time.time())})
        return charged, actual - charged

    def record_channel(self, channel_id: int, charged: int):
        metrics.quota_charged(channel_id, charged)
        if charged:
            self.batch.add_usage("channel", channel_id, used_quota=charged)

    def _give(self, charge: Charge, amount: int):
        if not charge.token.unlimited_quota:
            self.book.give("token", charge.token.id, amount)
        self.book.give("user", charge.user.id, amount)

    async def _take_more(self, charge: Charge, amount: int) -> int:
        """Take up to `amount` more; returns what both balances could pay."""
        token, user = charge.token, charge.user
        if amount == 0:
            return 0
        if token.unlimited_quota:
            return await self.book.take_up_to("user", user.id, amount)
        # What is paid is what both balances can give: take from the token, then the same from the
        # user, and hand the token back whatever the user could not match.
        taken = await self.book.take_up_to("token", token.id, amount)
        paid = await self.book.take_up_to("user", user.id, taken) if taken else 0
        if paid < taken:
            self.book.give("token", token.id, taken - paid)
        return paid
