"""Atomic quota moves on a numeric field, shared by users (`quota`) and tokens (`remain_quota`).

Every move is one conditional update, so concurrent requests can never take a balance below zero.
"""


async def take(collection, doc_id, field: str, amount: int, extra_inc=None) -> bool:
    """Take `amount` only if the balance covers it. Returns whether it was taken."""
    inc = {field: -amount, **(extra_inc or {})}
    found = await collection.find_one_and_update(
        {"_id": doc_id, field: {"$gte": amount}}, {"$inc": inc}, projection={"_id": 1}
    )
    return found is not None


async def take_up_to(collection, doc_id, field: str, amount: int, extra_inc=None) -> int:
    """Take `amount`, or everything that is left when less is left. Returns what was taken."""
    if await take(collection, doc_id, field, amount, extra_inc):
        return amount
    while True:
        doc = await collection.find_one({"_id": doc_id}, {field: 1})
        if doc is None:
            return 0
        left = max(0, min(amount, doc.get(field, 0)))
        # Compare-and-set on the value just read: if another request moved it, read again.
        found = await collection.find_one_and_update(
            {"_id": doc_id, field: doc.get(field, 0)},
            {"$inc": {field: -left, **(extra_inc or {})}},
            projection={"_id": 1},
        )
        if found is not None:
            return left


async def give(collection, doc_id, field: str, amount: int, extra_inc=None):
    await collection.update_one({"_id": doc_id}, {"$inc": {field: amount, **(extra_inc or {})}})


async def current(collection, doc_id, field: str) -> int:
    doc = await collection.find_one({"_id": doc_id}, {field: 1})
    return (doc or {}).get(field, 0)
