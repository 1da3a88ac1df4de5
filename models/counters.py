"""Integer ids, as One API uses them: token keys embed channel ids and logs join on user ids."""
from pymongo import ReturnDocument


class Counters:
    def __init__(self, collection):
        self.collection = collection

    async def next_id(self, name: str) -> int:
        doc = await self.collection.find_one_and_update(
            {"_id": name}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return doc["seq"]

    async def current(self, name: str) -> int:
        doc = await self.collection.find_one({"_id": name})
        return doc["seq"] if doc else 0

    async def at_least(self, name: str, value: int):
        """Raise the counter to `value` (used when documents arrive with their own ids)."""
        await self.collection.update_one({"_id": name}, {"$max": {"seq": value}}, upsert=True)
