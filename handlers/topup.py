"""Online top-up: quotes and orders for users, the epay gateway's notice, order history, the page the
payer's browser comes back to, and completing an order by hand (admin)."""
import re

from tornado.escape import url_escape
from tornado.web import HTTPError, RequestHandler

from handlers.base import ApiHandler, BaseHandler
from models.users import ROLE_ADMIN

TRADE_NO = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class QuoteHandler(ApiHandler):
    access = {"POST": "user"}

    def post(self):
        self.ok(self.services.payments.quote(self.current, self.body().get("amount")))


class PayHandler(ApiHandler):
    access = {"GET": "user", "POST": "user"}

    def get(self):
        self.ok(self.services.payments.offer(self.current))

    async def post(self):
        data = self.body()
        self.ok(await self.services.payments.create_order(self.current, data.get("amount"),
                                                          data.get("payment_method")))


class EpayNotifyHandler(BaseHandler):
    """Called by the gateway (GET with query parameters; some send a form POST). Answers plain text:
    `success` once handled, anything else makes the gateway try again."""

    access = {"GET": "public", "POST": "public"}

    def prepare(self):
        if self.level() is None:
            raise HTTPError(405)

    def _params(self) -> dict:
        arguments = {**self.request.body_arguments, **self.request.query_arguments}
        return {name: values[0].decode("utf-8", "replace") for name, values in arguments.items() if values}

    async def get(self):
        result = await self.services.payments.handle_notify(self._params(), self.request.remote_ip)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("X-Notify-Result", url_escape(result.reason, plus=False))
        self.finish(result.reply)

    post = get

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("fail")


class OwnOrdersHandler(ApiHandler):
    access = {"GET": "user"}

    async def get(self):
        page, size = self.paging()
        items, total = await self.services.payments.page({"user_id": self.current.id}, page, size)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


class OrderHandler(ApiHandler):
    """One order's state, for the page the payer comes back to."""

    access = {"GET": "user"}

    async def get(self, trade_no):
        self.ok(await self.services.payments.order_for(self.current, trade_no,
                                                       see_all=self.current.role >= ROLE_ADMIN))


class AllOrdersHandler(ApiHandler):
    access = {"GET": "admin"}

    async def get(self):
        page, size = self.paging()
        filters = {"status": self.get_query_argument("status", ""),
                   "trade_no": self.get_query_argument("trade_no", ""),
                   "user_id": self.int_arg("user_id", 0),
                   "start_timestamp": self.int_arg("start_timestamp", 0),
                   "end_timestamp": self.int_arg("end_timestamp", 0)}
        items, total = await self.services.payments.page(filters, page, size)
        self.ok({"items": items, "total": total, "page": page, "page_size": size})


class CompleteHandler(ApiHandler):
    access = {"POST": "admin"}

    async def post(self):
        self.ok(await self.services.payments.complete_by_hand(self.current, self.body().get("trade_no")))


class ReturnPage(RequestHandler):
    """The gateway sends the browser to /topup/<order> (adding its own query); the dashboard's top-up
    page shows the order's state from our records, never from that query."""

    access = {"GET": "public"}

    def get(self, trade_no=None):
        trade_no = trade_no or self.get_query_argument("out_trade_no", "")
        if trade_no and TRADE_NO.match(trade_no):
            return self.redirect(f"/#/topup?trade_no={trade_no}")
        self.redirect("/#/topup")


routes = [
    (r"/api/user/amount", QuoteHandler),
    (r"/api/user/pay", PayHandler),
    (r"/api/user/epay/notify", EpayNotifyHandler),
    (r"/api/user/topup/self", OwnOrdersHandler),
    (r"/api/user/topup/complete", CompleteHandler),
    (r"/api/user/topup/([A-Za-z0-9_-]{1,64})", OrderHandler),
    # GET only: POST on this path (redeeming a code) belongs to the redemption routes.
    (r"/api/user/topup", AllOrdersHandler),
    (r"/topup/?", ReturnPage),
    (r"/topup/([A-Za-z0-9_-]{1,64})", ReturnPage),
]
