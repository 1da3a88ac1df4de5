"""Quota reserves: blocks of a balance a process has set aside to serve requests from memory.

A reserve moves quota from the balance field into `reserved.<node>` of the same document in one atomic
conditional update, so money is never in two places and never lost. What the process then spends from
its reserve is taken out of `reserved.<node>` every second (`consume`); a process that dies leaves the
unspent rest in the document, where `recover` puts it back on the balance.
"""


def _slot(node: str) -> str:
    return f"reserved.{node}"


class Reserves:
    def __init__(self, collection, field: str):
        self.collection = collection
        self.field = field            # "quota" on users, "remain_quota" on tokens

    async def reserve(self, doc_id, node: str, amount: int) -> bool:
        """Move `amount` from the balance to this node's reserve, only if the balance covers it."""
        found = await self.collection.find_one_and_update(
            {"_id": doc_id, self.field: {"$gte": amount}},
            {"$inc": {self.field: -amount, _slot(node): amount}},
            projection={"_id": 1},
        )
        return found is not None

    async def reserve_up_to(self, doc_id, node: str, amount: int) -> int:
        """Move `amount`, or all the balance has when it has less. Returns what moved."""
        if await self.reserve(doc_id, node, amount):
            return amount
        while True:
            doc = await self.collection.find_one({"_id": doc_id}, {self.field: 1})
            if doc is None:
                return 0
            balance = doc.get(self.field, 0)
            moved = max(0, min(amount, balance))
            if moved == 0:
                return 0
            # Compare-and-set on the balance just read; if it moved meanwhile, read again.
            found = await self.collection.find_one_and_update(
                {"_id": doc_id, self.field: balance},
                {"$inc": {self.field: -moved, _slot(node): moved}},
                projection={"_id": 1},
            )
            if found is not None:
                return moved

    async def consume(self, doc_id, node: str, spent: int):
        """Record that `spent` of this node's reserve was spent (negative: refunds came back into it)."""
        await self.collection.update_one({"_id": doc_id}, {"$inc": {_slot(node): -spent}})

    async def release(self, doc_id, node: str, unspent: int, spent: int):
        """Give the unspent reserve back to the balance and record what was spent."""
        await self.collection.update_one(
            {"_id": doc_id}, {"$inc": {self.field: unspent, _slot(node): -(unspent + spent)}})

    async def recover(self, node: str) -> int:
        """Put every reserve a dead node left back on its balance; returns how much moved."""
        moved = 0
        async for doc in self.collection.find({_slot(node): {"$exists": True}}, {"reserved": 1}):
            amount = (doc.get("reserved") or {}).get(node, 0)
            # Conditional on the amount just read, so a reserve is never returned twice.
            result = await self.collection.update_one(
                {"_id": doc["_id"], _slot(node): amount},
                {"$inc": {self.field: amount}, "$unset": {_slot(node): ""}},
            )
            moved += amount if result.modified_count else 0
        return moved


class Nodes:
    """The `nodes` collection: processes that may hold reserves, with the time each was last seen."""

    def __init__(self, collection):
        self.collection = collection

    async def seen(self, node: str, now: float):
        await self.collection.update_one({"_id": node}, {"$set": {"seen_at": now}}, upsert=True)

    async def stale(self, before: float) -> list:
        return [d["_id"] async for d in self.collection.find({"seen_at": {"$lt": before}}, {"_id": 1})]

    async def forget(self, node: str):
        await self.collection.delete_one({"_id": node})
