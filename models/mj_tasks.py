"""The `mj_tasks` collection: Midjourney tasks submitted through the gateway, one per upstream task.

A task is `finished` once it reached SUCCESS, FAILURE or CANCEL; the poller only reads unfinished ones.
`quota` is what the submit was charged and `refunded` flips once, atomically, when a failed task gets
that quota back, so a poll and a notify reporting the same failure cannot both refund it.
`refund_pending` stays set, from that flip until the refund is paid in full, so one that a crash cut
short is finished later (each of its steps is applied once, however often it is repeated).
"""
import dataclasses

from pymongo import ASCENDING, DESCENDING

from models.documents import filter_query, find_page, from_doc, sort_spec, to_doc


@dataclasses.dataclass(slots=True)
class MjTask:
    id: int
    mj_id: str                      # the upstream task id, the id clients see
    user_id: int
    channel_id: int
    token_id: int = 0
    action: str = ""                # IMAGINE, UPSCALE, VARIATION, ...
    mode: str = ""                  # fast, relax, turbo or empty
    code: int = 1                   # the upstream submit code
    prompt: str = ""
    prompt_en: str = ""
    description: str = ""
    state: str = ""
    status: str = "SUBMITTED"
    progress: str = "0%"
    submit_time: int = 0            # milliseconds, as midjourney-proxy counts
    start_time: int = 0
    finish_time: int = 0
    image_url: str = ""             # the upstream's own URL; clients get the gateway's /mj/image/{mj_id}
    fail_reason: str = ""
    buttons: list = dataclasses.field(default_factory=list)
    properties: dict = dataclasses.field(default_factory=dict)
    quota: int = 0
    refunded: bool = False
    refund_pending: bool = False
    refund_claimed_at: int = 0      # seconds, gateway clock
    finished: bool = False
    created_at: int = 0             # seconds, gateway clock (filters and the poller's time-out)
    updated_at: int = 0


class MjTasks:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index([("channel_id", ASCENDING), ("mj_id", ASCENDING)], unique=True)
        await self.collection.create_index([("mj_id", ASCENDING)])
        await self.collection.create_index([("user_id", ASCENDING), ("mj_id", ASCENDING)])
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
        await self.collection.create_index([("created_at", DESCENDING)])
        await self.collection.create_index([("finished", ASCENDING)])

    async def create(self, task: MjTask) -> MjTask:
        if not task.id:
            task.id = await self.counters.next_id("mj_tasks")
        await self.collection.insert_one(to_doc(task))
        return task

    async def get(self, task_id: int):
        return from_doc(MjTask, await self.collection.find_one({"_id": task_id}))

    async def by_mj_id(self, mj_id: str, user_id: int = None, channel_id: int = None):
        query = {"mj_id": mj_id}
        if user_id is not None:
            query["user_id"] = user_id
        if channel_id is not None:
            query["channel_id"] = channel_id
        doc = await self.collection.find_one(query, sort=[("created_at", DESCENDING)])
        return from_doc(MjTask, doc)

    async def of_user(self, user_id: int, mj_ids: list) -> list:
        cursor = self.collection.find({"user_id": user_id, "mj_id": {"$in": mj_ids}})
        return [from_doc(MjTask, d) async for d in cursor]

    async def unfinished(self, limit: int = 10_000) -> list:
        cursor = self.collection.find({"finished": False}).sort(sort_spec("created_at", False)).limit(limit)
        return [from_doc(MjTask, d) async for d in cursor]

    async def update_unfinished(self, task_id: int, fields: dict) -> bool:
        """Change a task that is not finished yet; a finished task never changes again."""
        result = await self.collection.update_one({"_id": task_id, "finished": False}, {"$set": fields})
        return result.modified_count == 1

    async def claim_refund(self, task_id: int, now: int) -> bool:
        """Mark a failed, charged task refunded, its refund still to pay. True only for the one caller
        that flipped it."""
        result = await self.collection.update_one(
            {"_id": task_id, "refunded": False, "quota": {"$gt": 0}},
            {"$set": {"refunded": True, "refund_pending": True, "refund_claimed_at": now}})
        return result.modified_count == 1

    async def refund_paid(self, task_id: int):
        await self.collection.update_one({"_id": task_id}, {"$set": {"refund_pending": False}})

    async def unfinished_refunds(self, claimed_before: int) -> list:
        """Refunds claimed before then and not paid in full (their payer stopped half-way)."""
        cursor = self.collection.find({"refund_pending": True, "refund_claimed_at": {"$lt": claimed_before}})
        return [from_doc(MjTask, d) async for d in cursor]

    @staticmethod
    def build_query(filters: dict) -> dict:
        return filter_query(filters, ("user_id", "channel_id", "status", "action", "mj_id"), "created_at")

    async def page(self, filters: dict, skip: int, limit: int):
        order = sort_spec("created_at") + sort_spec("_id")
        docs, total = await find_page(self.collection, self.build_query(filters), order, skip, limit)
        return [from_doc(MjTask, d) for d in docs], total
