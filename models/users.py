"""The `users` collection: accounts, roles and balances."""
import dataclasses
import re

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from models import quota
from models.documents import find_page, from_doc, sort_spec, to_doc

ROLE_GUEST, ROLE_USER, ROLE_ADMIN, ROLE_ROOT = 0, 1, 10, 100
STATUS_ENABLED, STATUS_DISABLED = 1, 2


@dataclasses.dataclass(slots=True)
class User:
    id: int
    username: str
    password_hash: str = ""
    display_name: str = ""
    role: int = ROLE_USER
    status: int = STATUS_ENABLED
    email: str = ""
    quota: int = 0
    used_quota: int = 0
    request_count: int = 0
    group: str = "default"
    aff_code: str = ""
    inviter_id: int = 0
    access_token_hash: str = ""
    created_time: int = 0
    reserved: dict = dataclasses.field(default_factory=dict)   # quota set aside by serving processes

    @property
    def balance(self) -> int:
        """The balance including what serving processes hold in reserve for it."""
        return self.quota + sum(self.reserved.values())


class UsernameTaken(Exception):
    pass


class Users:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index("username", unique=True)
        await self.collection.create_index("access_token_hash", sparse=True)
        await self.collection.create_index("aff_code", sparse=True)
        await self.collection.create_index([("role", ASCENDING)])

    async def create(self, user: User) -> User:
        if not user.id:
            user.id = await self.counters.next_id("users")
        try:
            await self.collection.insert_one(to_doc(user))
        except DuplicateKeyError:
            raise UsernameTaken(user.username) from None
        return user

    async def get(self, user_id: int):
        return from_doc(User, await self.collection.find_one({"_id": user_id}))

    async def by_username(self, username: str):
        return from_doc(User, await self.collection.find_one({"username": username}))

    async def by_access_token_hash(self, token_hash: str):
        if not token_hash:
            return None
        return from_doc(User, await self.collection.find_one({"access_token_hash": token_hash}))

    async def count(self) -> int:
        return await self.collection.count_documents({})

    async def update(self, user_id: int, fields: dict):
        await self.collection.update_one({"_id": user_id}, {"$set": fields})

    async def delete(self, user_id: int) -> bool:
        result = await self.collection.delete_one({"_id": user_id})
        return result.deleted_count == 1

    async def page(self, keyword: str, skip: int, limit: int):
        query = {}
        if keyword:
            pattern = {"$regex": re.escape(keyword), "$options": "i"}
            query = {"$or": [{"username": pattern}, {"display_name": pattern}, {"email": pattern}]}
            if keyword.isdigit():
                query["$or"].append({"_id": int(keyword)})
        docs, total = await find_page(self.collection, query, sort_spec("_id"), skip, limit)
        return [from_doc(User, d) for d in docs], total

    # Balance moves: each is one atomic conditional update.
    async def take_quota(self, user_id: int, amount: int) -> bool:
        return await quota.take(self.collection, user_id, "quota", amount)

    async def take_quota_up_to(self, user_id: int, amount: int) -> int:
        return await quota.take_up_to(self.collection, user_id, "quota", amount)

    async def give_quota(self, user_id: int, amount: int):
        await quota.give(self.collection, user_id, "quota", amount)

    async def record_use(self, user_id: int, used: int, requests: int = 1):
        await self.collection.update_one(
            {"_id": user_id}, {"$inc": {"used_quota": used, "request_count": requests}}
        )

    async def quota_of(self, user_id: int) -> int:
        return await quota.current(self.collection, user_id, "quota")
