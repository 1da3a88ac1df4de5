"""The `redemptions` collection: codes worth a fixed quota, each redeemable once.

Codes are kept as One API keeps them (32 characters, unique) so administrators can hand them out again
from the list; a code becomes worthless the moment it is claimed.
"""
import dataclasses

from pymongo.errors import DuplicateKeyError

from models.documents import contains_text, find_page, from_doc, sort_spec, stored_id, to_doc

STATUS_ENABLED, STATUS_DISABLED, STATUS_USED = 1, 2, 3


@dataclasses.dataclass(slots=True)
class Redemption:
    id: int
    key: str
    name: str = ""
    quota: int = 0
    status: int = STATUS_ENABLED
    user_id: int = 0            # the administrator who made it
    created_time: int = 0
    redeemed_time: int = 0
    used_user_id: int = 0
    credited: bool = True       # False between the claim and the credit (see RedemptionService.redeem)


class KeyTaken(Exception):
    pass


class Redemptions:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index("key", unique=True)
        await self.collection.create_index("name")
        await self.collection.create_index("status")

    async def create(self, redemption: Redemption) -> Redemption:
        redemption.id = await self.counters.next_id("redemptions")
        try:
            await self.collection.insert_one(to_doc(redemption))
        except DuplicateKeyError:
            raise KeyTaken() from None
        return redemption

    async def get(self, redemption_id: int):
        return from_doc(Redemption, await self.collection.find_one({"_id": redemption_id}))

    async def by_key(self, key: str):
        return from_doc(Redemption, await self.collection.find_one({"key": key}))

    async def page(self, keyword: str, skip: int, limit: int):
        query = {}
        if keyword:
            number = stored_id(keyword)
            exact = {"key": keyword, **({"_id": number} if number is not None else {})}
            query = contains_text(("name",), keyword, exact)
        docs, total = await find_page(self.collection, query, sort_spec("_id"), skip, limit)
        return [from_doc(Redemption, d) for d in docs], total

    async def update_unused(self, redemption_id: int, fields: dict) -> bool:
        """Change a code that has not been used (a used code is a record of what happened)."""
        result = await self.collection.update_one(
            {"_id": redemption_id, "status": {"$ne": STATUS_USED}}, {"$set": fields})
        return result.matched_count == 1

    async def claim(self, key: str, user_id: int, now: int):
        """Mark an enabled code used by `user_id` in one conditional update; None when it was not
        enabled (unknown, disabled, or claimed first by someone else)."""
        doc = await self.collection.find_one_and_update(
            {"key": key, "status": STATUS_ENABLED},
            {"$set": {"status": STATUS_USED, "redeemed_time": now, "used_user_id": user_id, "credited": False}})
        return from_doc(Redemption, doc)

    async def mark_credited(self, redemption_id: int):
        await self.collection.update_one({"_id": redemption_id}, {"$set": {"credited": True}})

    async def uncredited(self, claimed_before: int) -> list:
        """Codes claimed (by a process that then died) but never marked credited."""
        cursor = self.collection.find({"status": STATUS_USED, "credited": False,
                                       "redeemed_time": {"$lt": claimed_before}})
        return [from_doc(Redemption, d) async for d in cursor]

    async def delete(self, redemption_id: int) -> bool:
        result = await self.collection.delete_one({"_id": redemption_id})
        return result.deleted_count == 1

    async def delete_invalid(self) -> int:
        """Delete every used or disabled code; returns how many."""
        result = await self.collection.delete_many({"status": {"$in": [STATUS_DISABLED, STATUS_USED]},
                                                    "credited": {"$nin": [False]}})
        return result.deleted_count
