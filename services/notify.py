"""Notices to the operator through WxPusher (WeChat): top-ups paid, payment notices refused.

Sending never holds up the caller: each notice runs as its own task with a short timeout, after the
database work is done. `idle()` waits for the ones under way (shutdown, tests).
"""
import asyncio
import logging

import ujson
from tornado.httpclient import HTTPRequest

log = logging.getLogger("tollgate.notify")

SEND_PATH = "/api/send/message"
TIMEOUT = 10            # seconds for one notice, connect included
ACCEPTED = 1000         # WxPusher's "处理成功"
CONTENT_TEXT = 1
SUMMARY_LIMIT = 100


class WxPusher:
    def __init__(self, options, upstream):
        self.options = options
        self.client = upstream.client     # the shared libcurl client; our own timeouts per request
        self._pending = set()

    def configured(self) -> bool:
        options = self.options
        return bool(options["WxPusherNotificationsEnabled"] and options["WxPusherAppToken"]
                    and (options["WxPusherUids"] or options["WxPusherTopicIds"]))

    def notify(self, summary: str, content: str):
        """Send in the background when notices are on; returns at once."""
        if not self.configured():
            return
        task = asyncio.ensure_future(self.send(summary, content))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def send(self, summary: str, content: str) -> bool:
        """One notice; True when WxPusher accepted it. Failures are logged, never raised."""
        options = self.options
        body = {
            "appToken": options["WxPusherAppToken"],
            "content": content,
            "summary": summary[:SUMMARY_LIMIT],
            "contentType": CONTENT_TEXT,
            "uids": options["WxPusherUids"],
            "topicIds": options["WxPusherTopicIds"],
        }
        request = HTTPRequest(options["WxPusherAddress"] + SEND_PATH, method="POST",
                              headers={"Content-Type": "application/json"}, body=ujson.dumps(body),
                              connect_timeout=TIMEOUT, request_timeout=TIMEOUT)
        try:
            response = await self.client.fetch(request, raise_error=False)
        except Exception as exc:   # no answer at all; the app token is not in the message
            log.warning("WxPusher notice not sent: %s", exc)
            return False
        return _accepted(response.code, response.body)

    async def idle(self):
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


def _accepted(status: int, body: bytes) -> bool:
    """WxPusher answers HTTP 200 even for refusals; only body code 1000 means accepted."""
    try:
        payload = ujson.loads(body) if body else {}
    except ValueError:
        payload = {}
    code = payload.get("code") if isinstance(payload, dict) else None
    if status == 200 and code == ACCEPTED:
        return True
    message = payload.get("msg", "") if isinstance(payload, dict) else ""
    log.warning("WxPusher refused a notice: HTTP %s, code %s %s", status, code, str(message)[:200])
    return False
