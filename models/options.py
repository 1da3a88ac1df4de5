"""The `options` collection: key/value settings an operator changes at run time (both strings)."""


class Options:
    def __init__(self, collection):
        self.collection = collection

    async def all(self) -> dict:
        return {d["_id"]: d["value"] async for d in self.collection.find({})}

    async def set(self, key: str, value: str):
        await self.collection.update_one({"_id": key}, {"$set": {"value": value}}, upsert=True)
