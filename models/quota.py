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


async def give(collection, doc_id, field: str, amount: int, extra_inc=None):
    await collection.update_one({"_id": doc_id}, {"$inc": {field: amount, **(extra_inc or {})}})


async def give_once(collection, doc_id, inc: dict, ref: str) -> bool:
    """Apply `inc` unless a move with the same `ref` was already applied: the recent refs are kept on the
    document (the last 100), so a move repeated after a crash is never applied twice. Returns whether it
    was applied now."""
    result = await collection.update_one(
        {"_id": doc_id, "credit_refs": {"$nin": [ref]}},
        {"$inc": inc, "$push": {"credit_refs": {"$each": [ref], "$slice": -100}}},
    )
    return result.modified_count == 1


async def current(collection, doc_id, field: str) -> int:
    doc = await collection.find_one({"_id": doc_id}, {field: 1})
    return (doc or {}).get(field, 0)
