"""Online top-up through 易支付 (epay): quotes, orders, the gateway's paid notice, hand completion.

Signing (epay's MD5 rule): every parameter except `sign` and `sign_type`, empty values dropped, sorted
by name, joined as k=v&k=v with raw (decoded) values, the merchant key appended directly; md5 hex.

An order is credited exactly once: one conditional update moves it pending → success, and only the
caller that made that move adds the quota, writes the top-up log and sends the notice.
"""
import dataclasses
import decimal
import hashlib
import hmac
import logging
import time

from models.logs import TYPE_MANAGE, TYPE_SYSTEM, TYPE_TOPUP
from models.top_ups import STATUS_PENDING, TopUp, TradeNoTaken
from services.errors import NotFound, ServiceError
from services.secrets import random_text

log = logging.getLogger("tollgate.payments")
RECOVER_AFTER = 60    # seconds after its completion before an uncredited order counts as left half done

CENT = decimal.Decimal("0.01")
MAX_AMOUNT = 1_000_000            # USD of quota in one order
METHOD_ALIASES = {"zfb": "alipay", "wx": "wxpay"}    # the names New API's dashboard sends
NOTIFY_PATH = "/api/user/epay/notify"
PAID = "TRADE_SUCCESS"
MAX_PAGE_SIZE = 100
REFUSALS_LOGGED = 20      # refused notices from one address written to the log per window
REFUSAL_WINDOW = 600      # seconds
MAX_ADDRESSES = 10_000    # addresses remembered at once


# ---- epay's MD5 signature ------------------------------------------------------------------------
def string_to_sign(params: dict) -> str:
    items = sorted((k, str(v)) for k, v in params.items() if k not in ("sign", "sign_type") and str(v) != "")
    return "&".join(f"{k}={v}" for k, v in items)


def sign(params: dict, key: str) -> str:
    return hashlib.md5((string_to_sign(params) + key).encode("utf-8")).hexdigest()


def verify(params: dict, key: str) -> bool:
    given = params.get("sign")
    if not key or not isinstance(given, str):
        return False
    return hmac.compare_digest(sign(params, key).encode(), given.strip().lower().encode())


# ---- results -------------------------------------------------------------------------------------
@dataclasses.dataclass
class NotifyResult:
    reply: str          # the body epay reads: "success" stops its retries, anything else asks for more
    reason: str         # why, in words (never the key)
    credited: bool = False


def public_order(order: TopUp) -> dict:
    return {
        "id": order.id, "user_id": order.user_id, "amount": order.amount, "money": order.money,
        "quota": order.quota, "trade_no": order.trade_no, "payment_method": order.payment_method,
        "status": order.status, "create_time": order.create_time, "complete_time": order.complete_time,
        "gateway_trade_no": order.gateway_trade_no, "completed_by": order.completed_by,
    }


class Payments:
    def __init__(self, db, options, notices, changes):
        self.db = db
        self.options = options
        self.notices = notices
        self.changes = changes        # user caches must forget a balance that grew
        self.refusals = RefusalBudget()

    # ---- quote and order -------------------------------------------------------------------------
    def _configured(self):
        options = self.options
        if not (options["PayAddress"] and options["EpayId"] and options["EpayKey"]):
            raise ServiceError("online top-up is not set up on this site")
        if not (options["CustomCallbackAddress"] or options["ServerAddress"]):
            raise ServiceError("online top-up is not set up on this site (no callback address)")

    def _amount(self, value) -> int:
        text = value.strip() if isinstance(value, str) else ""
        if text.isascii() and text.isdigit():
            value = int(text)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ServiceError("amount must be a whole number")
        minimum = self.options["MinTopUp"]
        if value < minimum:
            raise ServiceError(f"the smallest top-up is {minimum}")
        if value > MAX_AMOUNT:
            raise ServiceError(f"the largest top-up is {MAX_AMOUNT}")
        return value

    def quote(self, user, amount) -> str:
        """The money for `amount` USD of quota at this user's group price, as epay wants it ("73.00")."""
        amount = self._amount(amount)
        ratio = self.options["TopupGroupRatio"].get(user.group, 1)
        money = (amount * self.options["Price"] * decimal.Decimal(str(ratio))).quantize(
            CENT, rounding=decimal.ROUND_HALF_UP)
        if money < CENT:
            raise ServiceError("the amount to pay is below 0.01")
        return f"{money:.2f}"

    def offer(self, user) -> dict:
        """What the top-up page needs to show before an order: whether paying online works here, the
        methods, the smallest amount and this user's price per unit."""
        try:
            self._configured()
            enabled = True
        except ServiceError:
            enabled = False
        ratio = decimal.Decimal(str(self.options["TopupGroupRatio"].get(user.group, 1)))
        return {"enabled": enabled, "pay_methods": list(self.options["PayMethods"]),
                "min_topup": self.options["MinTopUp"], "price": str(self.options["Price"] * ratio)}

    def _method(self, value) -> str:
        method = METHOD_ALIASES.get(value, value)
        if not isinstance(method, str) or method not in self.options["PayMethods"]:
            offered = ", ".join(self.options["PayMethods"])
            raise ServiceError(f"payment_method must be one of: {offered}")
        return method

    async def create_order(self, user, amount, payment_method) -> dict:
        """A pending order and the signed form the browser posts to the gateway. Nothing is written
        when any check fails."""
        self._configured()
        method = self._method(payment_method)
        money = self.quote(user, amount)
        amount = self._amount(amount)
        order = TopUp(id=0, user_id=user.id, amount=amount, money=money,
                      quota=amount * self.options["QuotaPerUnit"], trade_no="", payment_method=method,
                      create_time=int(time.time()))
        for _ in range(3):    # a clash of random order numbers is unlikely; try again if it happens
            order.trade_no = f"USR{user.id}NO{random_text(6)}{int(time.time())}"
            try:
                await self.db.top_ups.create(order)
                break
            except TradeNoTaken:
                order.id = 0
        else:
            raise ServiceError("could not make an order number; try again", 409)
        return {"trade_no": order.trade_no, "amount": amount, "money": money,
                "url": self.options["PayAddress"] + "/submit.php", "params": self._form(order)}

    def _form(self, order: TopUp) -> dict:
        options = self.options
        callback = options["CustomCallbackAddress"] or options["ServerAddress"]
        site = options["ServerAddress"] or options["CustomCallbackAddress"]
        params = {
            "pid": options["EpayId"], "type": order.payment_method, "out_trade_no": order.trade_no,
            "notify_url": callback + NOTIFY_PATH,
            # A path, not a query: the gateway appends its own query (with its own trade_no) when it
            # sends the browser back.
            "return_url": f"{site}/topup/{order.trade_no}",
            "name": f"TUC{order.amount}", "money": order.money,
        }
        params["sign"] = sign(params, options["EpayKey"])
        params["sign_type"] = "MD5"
        return params

    # ---- the gateway's notice --------------------------------------------------------------------
    async def handle_notify(self, params: dict, address: str = "") -> NotifyResult:
        """`address`: who sent the notice; refusals it causes are logged only up to a budget."""
        options = self.options
        trade_no = str(params.get("out_trade_no", ""))[:64]
        if not (options["EpayId"] and options["EpayKey"]):
            return await self._refuse(trade_no, "online top-up is not set up", address=address)
        if not verify(params, options["EpayKey"]):
            return await self._refuse(trade_no, "bad signature", address=address)
        if params.get("pid") != options["EpayId"]:
            return await self._refuse(trade_no, "merchant id does not match", address=address)
        if params.get("trade_status") != PAID:
            return NotifyResult("success", f"trade status {params.get('trade_status')!r}: nothing to do")
        order = await self.db.top_ups.by_trade_no(trade_no)
        if order is None:
            return await self._refuse(trade_no, "unknown order", address=address)
        if not _same_money(params.get("money"), order.money):
            self.notices.notify("Top-up refused", f"Order {trade_no}: the gateway reports "
                                f"{params.get('money')!r} paid, the order is for {order.money}. Nothing credited.")
            return await self._refuse(trade_no, "paid money does not match the order", order.user_id)
        if order.status != STATUS_PENDING:
            return await self._replayed(order)
        done = await self.db.top_ups.complete(trade_no, {
            "complete_time": int(time.time()), "completed_by": "notify",
            "gateway_trade_no": str(params.get("trade_no", ""))[:64]})
        if done is None:         # another notice for the same order got there first
            return await self._replayed(order)
        await self._credit(done, TYPE_TOPUP, f"Online top-up paid: {done.amount} USD of quota for "
                           f"{done.money} ({done.payment_method}), order {done.trade_no}")
        return NotifyResult("success", "credited", credited=True)

    async def _replayed(self, order: TopUp) -> NotifyResult:
        # The gateway must hear "success" or it keeps re-sending; nothing moves.
        await self._system_log(f"epay notice for order {order.trade_no} ignored: already {order.status}",
                               order.user_id)
        return NotifyResult("success", f"order already {order.status}; nothing credited")

    async def _refuse(self, trade_no: str, reason: str, user_id: int = 0, address: str = None) -> NotifyResult:
        """`address`: the sender of a notice that may be forged (its refusals are logged up to a budget);
        None for a correctly signed one, always logged."""
        if address is None or self.refusals.take(address):
            log.warning("epay notice from %s refused for order %r: %s", address or "?", trade_no, reason)
            await self._system_log(f"epay notice refused for order {trade_no!r}: {reason}", user_id)
        return NotifyResult(f"fail: {reason}", reason)

    async def _system_log(self, content: str, user_id: int):
        await self.db.logs.insert({"type": TYPE_SYSTEM, "created_at": int(time.time()), "user_id": user_id,
                                   "username": "", "content": content, "quota": 0})

    async def _credit(self, order: TopUp, log_type: int, content: str, **extra):
        """Runs once per order, after this caller moved it out of pending. The quota is added with the
        order as reference, so `recover_uncredited` can finish the job of a process that died here."""
        fresh = await self.db.users.credit_once(order.user_id, order.quota, f"topup:{order.trade_no}")
        await self.changes.publish("user", order.user_id)
        user = await self.db.users.get(order.user_id)
        username = user.username if user else ""
        if fresh or not await self.db.logs.has_trade_no(order.trade_no):
            await self.db.logs.insert({"type": log_type, "created_at": int(time.time()), "user_id": order.user_id,
                                       "username": username, "content": content, "quota": order.quota,
                                       "trade_no": order.trade_no, **extra})
        await self.db.top_ups.mark_credited(order.trade_no)
        if not fresh:
            return
        self.notices.notify("Top-up paid", f"User {username} (id {order.user_id}) topped up {order.amount} "
                            f"USD of quota, paid {order.money} by {order.payment_method}; order {order.trade_no}.")

    async def recover_uncredited(self, now: float = None):
        """Finish orders a dying process completed but did not credit (run by the job-lease holder)."""
        for order in await self.db.top_ups.uncredited(int((now or time.time()) - RECOVER_AFTER)):
            log.warning("crediting top-up order %s, left half done", order.trade_no)
            await self._credit(order, TYPE_TOPUP, f"Top-up order {order.trade_no} credited after a restart: "
                               f"{order.amount} USD of quota for {order.money} ({order.payment_method})")

    # ---- by hand and history ---------------------------------------------------------------------
    async def complete_by_hand(self, admin, trade_no) -> dict:
        if not isinstance(trade_no, str) or not trade_no:
            raise ServiceError("trade_no is required")
        order = await self.db.top_ups.by_trade_no(trade_no)
        if order is None:
            raise NotFound("no such order")
        done = await self.db.top_ups.complete(trade_no, {"complete_time": int(time.time()),
                                                         "completed_by": f"admin:{admin.id}"})
        if done is None:
            raise ServiceError(f"the order is not pending (it is {order.status})", 409)
        await self._credit(done, TYPE_MANAGE, f"Administrator {admin.username} (id {admin.id}) completed "
                           f"top-up order {done.trade_no} by hand: {done.amount} USD of quota, "
                           f"{done.money} ({done.payment_method})", admin_id=admin.id)
        return public_order(done)

    async def order_for(self, user, trade_no: str, see_all: bool) -> dict:
        order = await self.db.top_ups.by_trade_no(trade_no)
        if order is None or (order.user_id != user.id and not see_all):
            raise NotFound("no such order")
        return public_order(order)

    async def page(self, filters: dict, page: int, page_size: int):
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        orders, total = await self.db.top_ups.page(filters, max(page - 1, 0) * page_size, page_size)
        return [public_order(o) for o in orders], total


def _same_money(paid, expected: str) -> bool:
    try:
        return decimal.Decimal(str(paid)) == decimal.Decimal(expected)
    except decimal.InvalidOperation:
        return False


class RefusalBudget:
    """Whether a refused notice from an address still goes to the logs: at most REFUSALS_LOGGED per
    REFUSAL_WINDOW and address, so a flood of forged notices cannot fill the database and the log files.
    A refusal past the budget is still answered, just not written down. Per process."""

    def __init__(self, per_window: int = REFUSALS_LOGGED, window: int = REFUSAL_WINDOW, clock=time.monotonic):
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._seen = {}       # address -> (start of its window, refusals in it)

    def take(self, address: str) -> bool:
        now = self.clock()
        start, count = self._seen.get(address, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        if address not in self._seen and len(self._seen) >= MAX_ADDRESSES:
            self._seen = {a: seen for a, seen in self._seen.items() if now - seen[0] < self.window}
            if len(self._seen) >= MAX_ADDRESSES:
                self._seen.clear()
        self._seen[address] = (start, count + 1)
        return count < self.per_window
