"""The `channels` collection: upstream providers with their keys, models, groups and routing weights."""
import dataclasses

from models import quota
from models.documents import contains_text, find_page, from_doc, sort_spec, stored_id, to_doc

# Channel status, as One API numbers it.
STATUS_UNKNOWN, STATUS_ENABLED, STATUS_MANUALLY_DISABLED, STATUS_AUTO_DISABLED = 0, 1, 2, 3


@dataclasses.dataclass(slots=True)
class Channel:
    id: int
    type: int = 1
    name: str = ""
    key: str = ""
    status: int = STATUS_ENABLED
    base_url: str = ""
    models: list = dataclasses.field(default_factory=list)
    groups: list = dataclasses.field(default_factory=lambda: ["default"])
    model_mapping: dict = dataclasses.field(default_factory=dict)
    priority: int = 0
    weight: int = 0
    created_time: int = 0
    test_time: int = 0
    response_time: int = 0          # milliseconds, from the last test
    balance: float = 0.0
    balance_updated_time: int = 0
    used_quota: int = 0
    auto_ban: bool = True           # may be disabled automatically
    status_reason: str = ""
    status_time: int = 0
    test_model: str = ""
    openai_organization: str = ""
    auto_enable_interval: int = 0   # seconds between re-tests of an auto-disabled channel; 0: never
    config: dict = dataclasses.field(default_factory=dict)


class Channels:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index("name")
        await self.collection.create_index("status")

    async def create(self, channel: Channel) -> Channel:
        if not channel.id:
            channel.id = await self.counters.next_id("channels")
        await self.collection.insert_one(to_doc(channel))
        return channel

    async def get(self, channel_id: int):
        return from_doc(Channel, await self.collection.find_one({"_id": channel_id}))

    async def all(self):
        return [from_doc(Channel, d) async for d in self.collection.find({})]

    async def replace(self, channel: Channel):
        await self.collection.replace_one({"_id": channel.id}, to_doc(channel))

    async def update(self, channel_id: int, fields: dict) -> bool:
        result = await self.collection.update_one({"_id": channel_id}, {"$set": fields})
        return result.matched_count == 1

    async def set_status_if(self, channel_id: int, expected: int, fields: dict) -> bool:
        """Change a channel's status only if it still has `expected` (two nodes may race)."""
        result = await self.collection.update_one({"_id": channel_id, "status": expected}, {"$set": fields})
        return result.modified_count == 1

    async def delete(self, channel_id: int) -> bool:
        result = await self.collection.delete_one({"_id": channel_id})
        return result.deleted_count == 1

    async def add_used_quota(self, channel_id: int, used: int):
        await self.collection.update_one({"_id": channel_id}, {"$inc": {"used_quota": used}})

    async def add_used_quota_once(self, channel_id: int, used: int, ref: str) -> bool:
        return await quota.give_once(self.collection, channel_id, {"used_quota": used}, ref)

    async def page(self, keyword: str, skip: int, limit: int, group: str = "", model: str = "", status: int = 0):
        """Channels by keyword (name, base URL or id), group, model and status; each filter optional."""
        # "$in" finds a list holding the value; a bare value would too on MongoDB, but nx-27017 matches
        # it against the whole list in an aggregate (which counts the total), and so finds nothing there.
        query = {}
        if group:
            query["groups"] = {"$in": [group]}
        if model:
            query["models"] = {"$in": [model]}
        if status:
            query["status"] = status
        if keyword:
            number = stored_id(keyword)
            text = contains_text(("name", "base_url"), keyword, {"_id": number} if number is not None else None)
            # Joined by $and: beside fields of its own level, nx-27017 counts an $expr holding $eq alone.
            query = {"$and": [text, query]} if query else text
        docs, total = await find_page(self.collection, query, sort_spec("_id"), skip, limit)
        return [from_doc(Channel, d) for d in docs], total

    async def ids_with_status(self, statuses) -> list:
        cursor = self.collection.find({"status": {"$in": list(statuses)}}, {"_id": 1})
        return [d["_id"] async for d in cursor]

    async def delete_many(self, ids: list) -> int:
        result = await self.collection.delete_many({"_id": {"$in": ids}})
        return result.deleted_count
