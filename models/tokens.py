"""The `tokens` collection: users' `sk-` keys, found by a keyed hash of the key."""
import dataclasses

from models import quota
from models.documents import contains_text, find_page, from_doc, sort_spec, to_doc

STATUS_ENABLED, STATUS_DISABLED, STATUS_EXPIRED, STATUS_EXHAUSTED = 1, 2, 3, 4
NEVER = -1


@dataclasses.dataclass(slots=True)
class Token:
    id: int
    user_id: int
    name: str = ""
    key_hash: str = ""
    key_enc: str = ""       # the key encrypted with the server secret, to show it to its owner again
    key_mask: str = ""
    status: int = STATUS_ENABLED
    created_time: int = 0
    accessed_time: int = 0
    expired_time: int = NEVER
    remain_quota: int = 0
    unlimited_quota: bool = False
    used_quota: int = 0
    models: list = dataclasses.field(default_factory=list)   # empty: every model
    subnet: str = ""                                          # allowed IPs / CIDRs, comma separated
    group: str = ""                                           # empty: the user's group
    billing_mode: str = "ratio"                               # "ratio" or "per_call"
    rpm_limit: int = 0                                        # requests per minute; 0: no limit
    reserved: dict = dataclasses.field(default_factory=dict)   # quota set aside by serving processes

    @property
    def balance(self) -> int:
        """The quota left including what serving processes hold in reserve for it."""
        return self.remain_quota + sum(self.reserved.values())


class Tokens:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index("key_hash", unique=True)
        await self.collection.create_index("user_id")
        await self.collection.create_index("name")

    async def create(self, token: Token) -> Token:
        if not token.id:
            token.id = await self.counters.next_id("tokens")
        await self.collection.insert_one(to_doc(token))
        return token

    async def get(self, token_id: int, user_id=None):
        query = {"_id": token_id}
        if user_id is not None:
            query["user_id"] = user_id
        return from_doc(Token, await self.collection.find_one(query))

    async def by_key_hash(self, key_hash: str):
        return from_doc(Token, await self.collection.find_one({"key_hash": key_hash}))

    async def update(self, token_id: int, fields: dict, user_id=None) -> bool:
        query = {"_id": token_id}
        if user_id is not None:
            query["user_id"] = user_id
        result = await self.collection.update_one(query, {"$set": fields})
        return result.matched_count == 1

    async def delete(self, token_id: int, user_id=None) -> bool:
        query = {"_id": token_id}
        if user_id is not None:
            query["user_id"] = user_id
        result = await self.collection.delete_one(query)
        return result.deleted_count == 1

    async def page(self, user_id, keyword: str, skip: int, limit: int, key_hash: str = ""):
        """Tokens by name (part of it, ASCII letters in any case) and/or by the hash of a full key;
        user_id None: everyone's."""
        query = {} if user_id is None else {"user_id": user_id}
        if keyword:
            query.update(contains_text(("name",), keyword))
        if key_hash:
            query["key_hash"] = key_hash
        docs, total = await find_page(self.collection, query, sort_spec("_id"), skip, limit)
        return [from_doc(Token, d) for d in docs], total

    async def of_user(self, user_id: int, ids: list):
        """The tokens among `ids` that belong to `user_id`."""
        cursor = self.collection.find({"_id": {"$in": ids}, "user_id": user_id})
        return [from_doc(Token, d) async for d in cursor]

    async def delete_of_user(self, user_id: int) -> int:
        result = await self.collection.delete_many({"user_id": user_id})
        return result.deleted_count

    async def delete_many(self, ids: list, user_id: int) -> int:
        result = await self.collection.delete_many({"_id": {"$in": ids}, "user_id": user_id})
        return result.deleted_count

    async def create_many(self, tokens: list):
        for token in tokens:
            if not token.id:
                token.id = await self.counters.next_id("tokens")
        if tokens:
            await self.collection.insert_many([to_doc(t) for t in tokens])

    # Balance moves (limited tokens only): each is one atomic conditional update.
    async def give_quota(self, token_id: int, amount: int):
        await quota.give(self.collection, token_id, "remain_quota", amount)

    async def refund_once(self, token_id: int, amount: int, ref: str, limited: bool) -> bool:
        """Give back `amount` that was charged and counted as used, once per `ref` (an unlimited key only
        counts it)."""
        inc = {"remain_quota": amount, "used_quota": -amount} if limited else {"used_quota": -amount}
        return await quota.give_once(self.collection, token_id, inc, ref)

    async def record_use(self, token_id: int, used: int, now: int):
        await self.collection.update_one(
            {"_id": token_id}, {"$inc": {"used_quota": used}, "$set": {"accessed_time": now}}
        )

    async def quota_of(self, token_id: int) -> int:
        return await quota.current(self.collection, token_id, "remain_quota")
