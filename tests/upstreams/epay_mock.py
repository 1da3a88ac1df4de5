"""A local 易支付 (epay) gateway. `/submit.php` takes the form the payer's browser posts, checks its
signature and merchant id, "takes the payment", calls the merchant's notify_url the way epay does (GET
with MD5-signed query parameters), and sends the browser back to return_url with the same parameters.

Its signer is written here again from the epay rule, independently of the code under test.
"""
import hashlib
import itertools
import urllib.parse

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.web import Application, RequestHandler

REQUIRED = ("pid", "type", "out_trade_no", "notify_url", "return_url", "name", "money", "sign")


def epay_sign(params: dict, key: str) -> str:
    kept = {k: v for k, v in params.items() if k not in ("sign", "sign_type") and v != ""}
    text = "&".join(f"{k}={kept[k]}" for k in sorted(kept))
    return hashlib.md5((text + key).encode("utf-8")).hexdigest()


class EpayState:
    def __init__(self, pid="1001", key="merchantsecretkey123"):
        self.pid = pid
        self.key = key
        self.url = ""
        self.submitted = []          # every form that passed the checks
        self.notify_replies = []     # (status, body) of every notify call made from /submit.php
        self.http = AsyncHTTPClient(force_instance=True, max_clients=100)
        self._numbers = itertools.count(2024010112345678)

    def notice(self, form: dict, key=None, **changes) -> dict:
        """The parameters epay sends for a paid order (signed with `key`, default the merchant's)."""
        params = {"pid": form["pid"], "trade_no": str(next(self._numbers)), "out_trade_no": form["out_trade_no"],
                  "type": form["type"], "name": form["name"], "money": form["money"],
                  "trade_status": "TRADE_SUCCESS", "param": form.get("param", "")}
        params.update(changes)
        params["sign"] = epay_sign(params, self.key if key is None else key)
        params["sign_type"] = "MD5"
        return params

    async def call_notify(self, notify_url: str, params: dict, method="GET"):
        """Call the merchant as epay does; returns (status, body text, headers)."""
        query = urllib.parse.urlencode(params)
        if method == "GET":
            request = HTTPRequest(f"{notify_url}?{query}", method="GET")
        else:
            request = HTTPRequest(notify_url, method="POST", body=query,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = await self.http.fetch(request, raise_error=False)
        return response.code, (response.body or b"").decode(), response.headers


class SubmitHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    async def post(self):
        form = {name: self.get_argument(name, "", strip=False) for name in self.request.arguments}
        missing = [name for name in REQUIRED if not form.get(name)]
        if missing:
            return self._refuse(f"缺少参数 {','.join(missing)}")
        if form["pid"] != self.state.pid:
            return self._refuse("商户不存在")
        if form["sign"] != epay_sign(form, self.state.key):
            return self._refuse("签名校验失败")
        self.state.submitted.append(form)
        params = self.state.notice(form)
        status, body, _ = await self.state.call_notify(form["notify_url"], params)
        self.state.notify_replies.append((status, body))
        separator = "&" if "?" in form["return_url"] else "?"
        self.redirect(form["return_url"] + separator + urllib.parse.urlencode(params))

    get = post

    def _refuse(self, message):
        self.set_status(400)
        self.finish(message)


def make_epay_app(state: EpayState) -> Application:
    return Application([(r"/submit.php", SubmitHandler, {"state": state})])
