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


async def current(collection, doc_id, field: str) -> int:
    doc = await collection.find_one({"_id": doc_id}, {field: 1})
    return (doc or {}).get(field, 0)
