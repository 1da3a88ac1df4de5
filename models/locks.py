"""The `locks` collection: leases that say which process runs the cluster-wide background jobs."""
from pymongo.errors import DuplicateKeyError


class Locks:
    def __init__(self, collection):
        self.collection = collection

    async def acquire(self, name: str, holder: str, now: float, seconds: float) -> bool:
        """Take or renew the lease `name` if it is free, expired, or already ours."""
        try:
            await self.collection.insert_one({"_id": name, "holder": holder, "expires_at": now + seconds})
            return True
        except DuplicateKeyError:
            pass   # the lease exists: take it over only if it is ours or has run out
        found = await self.collection.find_one_and_update(
            {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lt": now}}]},
            {"$set": {"holder": holder, "expires_at": now + seconds}},
            projection={"_id": 1},
        )
        return found is not None

    async def release(self, name: str, holder: str):
        await self.collection.delete_one({"_id": name, "holder": holder})

    async def holder(self, name: str):
        doc = await self.collection.find_one({"_id": name})
        return doc["holder"] if doc else None
