"""The `users` collection: accounts, roles and balances."""
import dataclasses

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from models import quota
from models.documents import contains_text, count, find_page, from_doc, sort_spec, stored_id, to_doc

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
    default_password: bool = False     # root still has the password it was created with
    reserved: dict = dataclasses.field(default_factory=dict)   # quota set aside by serving processes

    @property
    def balance(self) -> int:
        """The balance including what serving processes hold in reserve for it."""
        return self.quota + sum(self.reserved.values())


class UsernameTaken(Exception):
    pass


class AffCodeTaken(Exception):
    pass


# Orders an administrator may list users in (One API's `order` parameter).
ORDERS = {"": "_id", "id": "_id", "quota": "quota", "used_quota": "used_quota", "request_count": "request_count"}


class Users:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index("username", unique=True)
        await self.collection.create_index("access_token_hash", sparse=True)
        await self._ensure_unique_aff_code()
        await self.collection.create_index([("role", ASCENDING)])

    async def _ensure_unique_aff_code(self):
        """Invite codes are unique; users without one have no field at all (the index is sparse).
        Databases from before the index was unique hold empty codes and a plain index: fix both."""
        await self.collection.update_many({"aff_code": ""}, {"$unset": {"aff_code": ""}})
        existing = (await self.collection.index_information()).get("aff_code_1")
        if existing is not None and not existing.get("unique"):
            await self.collection.drop_index("aff_code_1")
        await self.collection.create_index("aff_code", unique=True, sparse=True)

    async def create(self, user: User) -> User:
        if not user.id:
            user.id = await self.counters.next_id("users")
        doc = to_doc(user)
        if not doc["aff_code"]:
            del doc["aff_code"]
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            if "aff_code" in str(exc):
                raise AffCodeTaken(user.aff_code) from None
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

    async def by_aff_code(self, code: str):
        if not code:
            return None
        return from_doc(User, await self.collection.find_one({"aff_code": code}))

    async def set_aff_code(self, user_id: int, code: str) -> bool:
        """Give a user an invite code unless one was given meanwhile. Raises AffCodeTaken."""
        try:
            result = await self.collection.update_one(
                {"_id": user_id, "aff_code": {"$exists": False}}, {"$set": {"aff_code": code}})
        except DuplicateKeyError:
            raise AffCodeTaken(code) from None
        return result.modified_count == 1

    async def count(self) -> int:
        return await count(self.collection, {})

    async def update(self, user_id: int, fields: dict, below_role: int = None, quota_was: int = None) -> bool:
        """Set fields in one write. With `below_role`: only while the user's role is still lower (a
        promotion that lands meanwhile is not overridden by someone who may no longer touch the user).
        With `quota_was`: only while the balance still is that (a new balance set by an administrator
        must not wipe out charges made since it was read)."""
        query = {"_id": user_id}
        if below_role is not None:
            query["role"] = {"$lt": below_role}
        if quota_was is not None:
            query["quota"] = quota_was
        try:
            result = await self.collection.update_one(query, {"$set": fields})
        except DuplicateKeyError:
            raise UsernameTaken(fields.get("username")) from None
        return result.matched_count == 1

    async def delete(self, user_id: int, below_role: int = None) -> bool:
        query = {"_id": user_id}
        if below_role is not None:
            query["role"] = {"$lt": below_role}
        result = await self.collection.delete_one(query)
        return result.deleted_count == 1

    async def page(self, keyword: str, skip: int, limit: int, order: str = ""):
        query = {}
        if keyword:
            number = stored_id(keyword)
            query = contains_text(("username", "display_name", "email"), keyword,
                                  {"_id": number} if number is not None else None)
        docs, total = await find_page(self.collection, query, sort_spec(ORDERS.get(order, "_id")), skip, limit)
        return [from_doc(User, d) for d in docs], total

    # Balance moves: each is one atomic conditional update.
    async def take_quota(self, user_id: int, amount: int) -> bool:
        return await quota.take(self.collection, user_id, "quota", amount)

    async def give_quota(self, user_id: int, amount: int):
        await quota.give(self.collection, user_id, "quota", amount)

    async def credit_once(self, user_id: int, amount: int, ref: str) -> bool:
        """Add `amount` unless a credit with the same `ref` was already added (see quota.give_once)."""
        return await quota.give_once(self.collection, user_id, {"quota": amount}, ref)

    async def refund_once(self, user_id: int, amount: int, ref: str) -> bool:
        """Give back `amount` that was charged and counted as used, once per `ref`."""
        return await quota.give_once(self.collection, user_id, {"quota": amount, "used_quota": -amount}, ref)

    async def record_use(self, user_id: int, used: int, requests: int = 1):
        await self.collection.update_one(
            {"_id": user_id}, {"$inc": {"used_quota": used, "request_count": requests}}
        )

    async def quota_of(self, user_id: int) -> int:
        return await quota.current(self.collection, user_id, "quota")
