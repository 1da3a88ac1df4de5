"""The `top_ups` collection: online top-up orders, pending until the payment gateway reports them paid."""
import dataclasses

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.documents import filter_query, find_page, from_doc, sort_spec, to_doc

STATUS_PENDING, STATUS_SUCCESS = "pending", "success"


@dataclasses.dataclass(slots=True)
class TopUp:
    id: int
    user_id: int
    amount: int              # USD of quota bought
    money: str               # what the user pays, two decimals, e.g. "73.00"
    quota: int               # quota credited when paid (amount × QuotaPerUnit at order time)
    trade_no: str            # our order number (epay's out_trade_no)
    payment_method: str
    status: str = STATUS_PENDING
    create_time: int = 0
    complete_time: int = 0
    gateway_trade_no: str = ""   # the gateway's own order number, from its notice
    completed_by: str = ""       # "notify", or "admin:<id>" for a hand completion
    credited: bool = False       # the quota was added (set after the completion, see Payments)


class TradeNoTaken(Exception):
    pass


class TopUps:
    def __init__(self, collection, counters):
        self.collection = collection
        self.counters = counters

    async def ensure_indexes(self):
        await self.collection.create_index("trade_no", unique=True)
        await self.collection.create_index([("user_id", ASCENDING), ("create_time", DESCENDING)])
        await self.collection.create_index([("status", ASCENDING), ("create_time", DESCENDING)])
        await self.collection.create_index([("create_time", DESCENDING)])

    async def create(self, order: TopUp) -> TopUp:
        if not order.id:
            order.id = await self.counters.next_id("top_ups")
        try:
            await self.collection.insert_one(to_doc(order))
        except DuplicateKeyError:
            raise TradeNoTaken(order.trade_no) from None
        return order

    async def by_trade_no(self, trade_no: str):
        return from_doc(TopUp, await self.collection.find_one({"trade_no": trade_no}))

    async def complete(self, trade_no: str, fields: dict):
        """Pending → success in one conditional update. Returns the order when this call completed it,
        None when it was not pending (already completed, or unknown): so only one caller ever credits."""
        doc = await self.collection.find_one_and_update(
            {"trade_no": trade_no, "status": STATUS_PENDING},
            {"$set": {"status": STATUS_SUCCESS, "credited": False, **fields}},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(TopUp, doc)

    async def mark_credited(self, trade_no: str):
        await self.collection.update_one({"trade_no": trade_no}, {"$set": {"credited": True}})

    async def uncredited(self, completed_before: int) -> list:
        """Orders completed (by a process that then died) but never marked credited."""
        cursor = self.collection.find({"status": STATUS_SUCCESS, "credited": False,
                                       "complete_time": {"$lt": completed_before}})
        return [from_doc(TopUp, d) async for d in cursor]

    @staticmethod
    def build_query(filters: dict) -> dict:
        return filter_query(filters, ("user_id", "status", "trade_no", "payment_method"), "create_time")

    async def page(self, filters: dict, skip: int, limit: int):
        docs, total = await find_page(self.collection, self.build_query(filters), sort_spec("create_time"),
                                      skip, limit)
        return [from_doc(TopUp, d) for d in docs], total
