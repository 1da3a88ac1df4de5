"""The `logs` collection: one entry per charged request, top-up, management action or error."""
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError

from models.documents import contains_text, filter_query, find_list, find_page, sort_spec

INSERT_SLICE = 500
DUPLICATE_KEY = 11000
TYPE_TOPUP, TYPE_CONSUME, TYPE_MANAGE, TYPE_SYSTEM, TYPE_ERROR, TYPE_REFUND = 1, 2, 3, 4, 5, 6

# Query fields callers may filter on, with how each is matched.
_EXACT = ("type", "user_id", "channel_id", "token_id")
_TEXT = ("username", "token_name", "model_name", "group")
_SEARCHED = ("content", "username", "token_name", "model_name", "request_id")


class Logs:
    def __init__(self, collection):
        self.collection = collection

    async def ensure_indexes(self):
        await self.collection.create_index([("created_at", DESCENDING)])
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
        await self.collection.create_index([("token_name", ASCENDING), ("created_at", DESCENDING)])
        await self.collection.create_index([("model_name", ASCENDING), ("created_at", DESCENDING)])
        await self.collection.create_index([("channel_id", ASCENDING), ("created_at", DESCENDING)])
        await self.collection.create_index("request_id")
        await self.collection.create_index("trade_no", sparse=True)

    async def has_trade_no(self, trade_no: str) -> bool:
        return await self.collection.find_one({"trade_no": trade_no}, {"_id": 1}) is not None

    async def insert(self, entry: dict):
        await self.collection.insert_one(entry)

    async def insert_once(self, entry: dict):
        """Insert `entry` unless one with its request_id is there (a write repeated after a crash)."""
        fields = {k: v for k, v in entry.items() if k != "request_id"}
        await self.collection.update_one({"request_id": entry["request_id"]}, {"$setOnInsert": fields}, upsert=True)

    async def insert_many(self, entries: list):
        """Insert in slices, so other operations on the database are not held up behind one large write.
        Entries already written (a batch tried again after a failure) are skipped, not doubled."""
        for start in range(0, len(entries), INSERT_SLICE):
            try:
                await self.collection.insert_many(entries[start:start + INSERT_SLICE], ordered=False)
            except BulkWriteError as exc:
                if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", ())):
                    raise

    @staticmethod
    def build_query(filters: dict) -> dict:
        query = filter_query(filters, _EXACT + _TEXT, "created_at")
        if filters.get("keyword"):
            query.update(contains_text(_SEARCHED, filters["keyword"]))
        return query

    async def page(self, filters: dict, skip: int, limit: int):
        docs, total = await find_page(
            self.collection, self.build_query(filters), sort_spec("created_at"), skip, limit
        )
        return docs, total

    async def in_chunks(self, filters: dict, size: int, newest_first: bool = True):
        """The filtered selection in lists of about `size` entries, by time (entries of one second by id).
        Each list is one query with a limit, walking on from where the last one ended, plus the rest of the
        second it ended in: no side ever holds more than that. (The embedded server reads the whole result
        of one cursor into memory at its first batch: hundreds of MB for a few hundred thousand entries.)"""
        query = self.build_query(filters)
        span = dict(query.get("created_at", {}))
        direction, past = (DESCENDING, "$lt") if newest_first else (ASCENDING, "$gt")
        while True:
            walked = {**query, "created_at": span} if span else query
            chunk = await find_list(self.collection, walked, [("created_at", direction)], limit=size)
            full = len(chunk) == size
            if full:                # the chunk may end inside a second: take that second whole
                edge = chunk[-1]["created_at"]
                chunk = [e for e in chunk if e["created_at"] != edge]
                chunk += await find_list(self.collection, {**query, "created_at": edge})
                span[past] = edge
            if chunk:
                yield sorted(chunk, key=lambda e: (e["created_at"], e["_id"]), reverse=newest_first)
            if not full:
                return

    async def totals(self, filters: dict, since: int = 0) -> dict:
        """Sums over a filtered selection (only entries at or after `since` when given): entries, quota, tokens."""
        query = self.build_query(filters)
        if since:
            # merged into the one span (not "$and"): the embedded server evaluates "$and" in Python
            span = query.setdefault("created_at", {})
            span["$gte"] = max(span.get("$gte", since), since)
        pipeline = [
            {"$match": query},
            {"$group": {"_id": None, "count": {"$sum": 1}, "quota": {"$sum": "$quota"},
                        "prompt": {"$sum": "$prompt_tokens"}, "completion": {"$sum": "$completion_tokens"}}},
        ]
        rows = await (await self.collection.aggregate(pipeline)).to_list(length=1)
        row = rows[0] if rows else {}
        return {"count": row.get("count", 0), "quota": row.get("quota", 0),
                "tokens": row.get("prompt", 0) + row.get("completion", 0)}

    async def delete_before(self, timestamp: int) -> int:
        result = await self.collection.delete_many({"created_at": {"$lt": timestamp}})
        return result.deleted_count
