"""Serving quota from memory: each process keeps a reserve per balance (user or token) and answers
pre-charges, extra charges and refunds from it without a database round trip.

Reserves are taken from MongoDB in blocks with one atomic conditional update that moves the quota into
the document's `reserved.<node>` field (models/reserves.py), so no balance can be overdrawn however many
processes and nodes serve the same user, and nothing is lost if a process dies: the job-lease holder puts
a dead node's reserves back. What was spent from a reserve is recorded in MongoDB every second
(`sync`), and a reserve not used for a little while goes back to the balance, so what users and
administrators see stays close to the truth.
"""
import asyncio
import contextlib
import logging
import os
import re
import socket
import time
import uuid

log = logging.getLogger("tollgate.quota")
BLOCK_FACTOR = 20        # a refill takes this many times what the request needs, when the balance allows
RATE_PERIODS = 3         # ... or this many sync periods' spending at the current pace, or what every request
                         # waiting needs, whichever is most
# Below this share of a period's spending the next block is fetched in the background: a whole period, as a
# batch of logs can keep MongoDB busy for most of one.
AHEAD_SHARE = 1.0
IDLE_SECONDS = 2         # a reserve unused this long goes back to the balance


def new_node_id() -> str:
    host = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40]
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class _Account:
    """One balance's reserve in this process: `available` is unspent; `spent` is what was spent (net of
    refunds) since it was last recorded in MongoDB; `taken` is what requests took since then and `rate`
    what they took in the last sync period, which sizes the blocks; `wanted` is what the requests waiting
    for a refill need in all."""

    __slots__ = ("available", "spent", "taken", "rate", "wanted", "ahead_failed", "last_used", "refill", "busy")

    def __init__(self):
        self.available = 0
        self.spent = 0
        self.taken = 0
        self.rate = 0
        self.wanted = 0
        self.ahead_failed = False
        self.last_used = 0.0
        self.refill = None    # the refill under way: every request short of quota waits for this one
        self.busy = 0         # requests waiting for a refill, and refills under way: not released meanwhile

    def pace(self) -> int:
        """Spending per sync period: the last period's, or this one's so far when that is more (a reserve
        that starts under load, after an idle pause, grows with it instead of refilling every few requests
        until the first sync)."""
        return max(self.rate, self.taken)

    def block(self, need: int) -> int:
        """A refill's size: BLOCK_FACTOR times the need, a few periods' spending at the current pace, or
        what every request waiting needs (a burst of new requests would otherwise wait for one small
        refill after another)."""
        return max(need * BLOCK_FACTOR, self.pace() * RATE_PERIODS, self.wanted - self.available)

    def running_low(self) -> bool:
        return self.available < self.pace() * AHEAD_SHARE and not self.ahead_failed


class QuotaBook:
    def __init__(self, stores: dict, node: str, clock=time.monotonic):
        self.stores = stores          # kind ("user" / "token") → models.reserves.Reserves
        self.node = node
        self.clock = clock
        self._accounts = {}
        self._refills = set()         # refills under way

    def _account(self, kind, doc_id) -> _Account:
        account = self._accounts.get((kind, doc_id))
        if account is None:
            account = self._accounts[(kind, doc_id)] = _Account()
        account.last_used = self.clock()
        return account

    async def take(self, kind: str, doc_id, amount: int) -> bool:
        """Take `amount` from the balance (through the reserve), or nothing if it cannot cover it."""
        if amount <= 0:
            return True
        account = self._account(kind, doc_id)
        if account.available < amount and not await self._wait_for_quota(kind, doc_id, account, amount):
            return False
        account.available -= amount
        account.spent += amount
        account.taken += amount
        if account.running_low() and account.refill is None:
            self._start_refill(kind, doc_id, account, self._reserve_ahead(kind, doc_id, account))
        return True

    async def _wait_for_quota(self, kind, doc_id, account, amount) -> bool:
        """Wait until the reserve holds `amount`: for the refill under way, or for one this request starts.
        All waiters wake together when a refill lands (a lock would hand the reserve on one at a time, a
        turn of the event loop each, which under load queues a burst for seconds)."""
        account.busy += 1
        account.wanted += amount
        try:
            while account.available < amount:
                refill = account.refill
                if refill is not None:
                    with contextlib.suppress(Exception):   # its own request sees a failure; this one tries again
                        await asyncio.shield(refill)
                    continue
                refill = self._start_refill(kind, doc_id, account, self._refill(kind, doc_id, account, amount))
                if not await asyncio.shield(refill):
                    return False
            return True
        finally:
            account.busy -= 1
            account.wanted -= amount

    def _start_refill(self, kind, doc_id, account, work) -> asyncio.Task:
        """Run `work` (one refill) as the account's refill under way; the account stays in the book until
        it is done."""
        async def refill():
            try:
                return await work
            finally:
                account.busy -= 1
                account.refill = None
        account.busy += 1
        task = account.refill = asyncio.ensure_future(refill())
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)
        return task

    async def _refill(self, kind, doc_id, account, amount) -> bool:
        store, need = self.stores[kind], amount - account.available
        for block in (account.block(need), need):
            if await store.reserve(doc_id, self.node, block):
                account.available += block
                return True
        return False

    async def _reserve_ahead(self, kind, doc_id, account) -> bool:
        """Fetch the next block before the reserve runs out, so busy balances never wait for MongoDB."""
        block = account.block(0)
        try:
            reserved = await self.stores[kind].reserve(doc_id, self.node, block)
        except Exception:
            log.warning("could not refill a %s reserve ahead; requests will refill it", kind)
            reserved = False
        if reserved:
            account.available += block
        else:
            account.ahead_failed = True    # the balance is low (or MongoDB is away): refill on demand
        return reserved

    async def take_up_to(self, kind: str, doc_id, amount: int) -> int:
        """Take `amount`, or everything that is left when less is left. Returns what was taken."""
        if await self.take(kind, doc_id, amount):
            return amount
        account = self._account(kind, doc_id)
        account.busy += 1
        try:
            account.available += await self.stores[kind].reserve_up_to(doc_id, self.node,
                                                                        amount - account.available)
        finally:
            account.busy -= 1
        taken = min(amount, account.available)
        account.available -= taken
        account.spent += taken
        return taken

    def give(self, kind: str, doc_id, amount: int):
        """Give `amount` back (a refund); it goes back to the balance with the rest of the reserve."""
        if amount > 0:
            account = self._account(kind, doc_id)
            account.available += amount
            account.spent -= amount

    async def sync(self):
        """Record in MongoDB what each reserve has spent since the last time."""
        for (kind, doc_id), account in list(self._accounts.items()):
            account.rate, account.taken, account.ahead_failed = account.taken, 0, False
            if account.spent:
                spent, account.spent = account.spent, 0
                try:
                    await self.stores[kind].consume(doc_id, self.node, spent)
                except Exception:
                    account.spent += spent      # recorded with the next sync
                    raise

    async def release_idle(self, idle_seconds: float = IDLE_SECONDS):
        await self._release(self.clock() - idle_seconds)

    async def release_all(self):
        await self.refills_done()
        await self._release(float("inf"))

    async def refills_done(self):
        """Wait for the refills under way."""
        if self._refills:
            await asyncio.gather(*self._refills, return_exceptions=True)

    async def _release(self, used_before: float):
        for (kind, doc_id), account in list(self._accounts.items()):
            if account.last_used >= used_before or account.busy:
                continue
            unspent, spent = account.available, account.spent
            del self._accounts[(kind, doc_id)]
            if unspent or spent:
                try:
                    await self.stores[kind].release(doc_id, self.node, unspent, spent)
                except Exception:
                    self._take_back(kind, doc_id, unspent, spent)
                    raise

    def _take_back(self, kind, doc_id, unspent, spent):
        """A reserve that could not be released stays in the book (with what was spent from it)."""
        account = self._account(kind, doc_id)
        account.available += unspent
        account.spent += spent

    def held(self) -> int:
        return sum(a.available for a in self._accounts.values())
