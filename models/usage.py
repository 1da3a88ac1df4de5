"""Usage counters (used quota, request counts, last use) added to users, tokens and channels in bulk."""
from pymongo import UpdateOne


class UsageCounters:
    def __init__(self, users, tokens, channels):
        self.collections = {"user": users, "token": tokens, "channel": channels}

    async def add(self, kind: str, increments: dict, latest: dict = None):
        """increments: {doc id: {field: amount}}; latest: {doc id: {field: value}} kept at its maximum."""
        operations = []
        for doc_id, fields in increments.items():
            update = {"$inc": fields}
            if latest and doc_id in latest:
                update["$max"] = latest[doc_id]
            operations.append(UpdateOne({"_id": doc_id}, update))
        if operations:
            await self.collections[kind].bulk_write(operations, ordered=False)
