"""The `abilities` collection: one row per (group, model, channel), the routing index One API keeps."""
from pymongo import ASCENDING


class Abilities:
    def __init__(self, collection):
        self.collection = collection

    async def ensure_indexes(self):
        await self.collection.create_index(
            [("group", ASCENDING), ("model", ASCENDING), ("channel_id", ASCENDING)], unique=True
        )
        await self.collection.create_index("channel_id")

    async def replace_for_channel(self, channel):
        """Rebuild the rows of one channel from its groups and models."""
        await self.collection.delete_many({"channel_id": channel.id})
        rows = [
            {
                "group": group,
                "model": model,
                "channel_id": channel.id,
                "enabled": channel.status == 1,
                "priority": channel.priority,
                "weight": channel.weight,
            }
            for group in dict.fromkeys(channel.groups)
            for model in dict.fromkeys(channel.models)
        ]
        if rows:
            await self.collection.insert_many(rows)

    async def set_enabled(self, channel_id: int, enabled: bool):
        await self.collection.update_many({"channel_id": channel_id}, {"$set": {"enabled": enabled}})

    async def delete_for_channel(self, channel_id: int):
        await self.collection.delete_many({"channel_id": channel_id})

    async def delete_for_channels(self, channel_ids: list):
        await self.collection.delete_many({"channel_id": {"$in": channel_ids}})

    async def for_channel(self, channel_id: int):
        return await self.collection.find({"channel_id": channel_id}, {"_id": 0}).to_list(length=None)

    async def enabled(self):
        """Every enabled row, for the in-memory routing table."""
        return await self.collection.find({"enabled": True}, {"_id": 0}).to_list(length=None)
