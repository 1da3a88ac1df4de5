"""Base handlers: who the caller is, what each verb requires, and the two error shapes.

Every handler declares `access = {"VERB": level}` with level one of public, key, user, admin, root;
a verb without a level is refused (deny by default, and a test walks the route table for it).
`/v1` handlers answer errors in OpenAI's shape, `/api` handlers in One API's envelope with a real
HTTP status. Unknown exceptions become a generic error with the request id; details go to the log only.
"""
import logging
import math
import os
import time

import tornado
import ujson
from tornado.httputil import HTTPHeaders, format_timestamp
from tornado.iostream import StreamClosedError
from tornado.web import HTTPError, RequestHandler

from models.documents import INT64_MAX, INT64_MIN
from models.users import ROLE_ADMIN, ROLE_ROOT, ROLE_USER, STATUS_ENABLED
from services.errors import RelayError, ServiceError
from services.stream_relay import ClientGone

log = logging.getLogger("tollgate.http")

LEVELS = {"user": ROLE_USER, "admin": ROLE_ADMIN, "root": ROLE_ROOT}
SESSION_COOKIE = "session"
SERVER = f"TornadoServer/{tornado.version}"
MAX_PAGE = 10 ** 9                              # page numbers past this are the last page anyway


class _HttpDate:
    """The Date header's text, formatted once a second instead of once per answer."""

    second, text = None, ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.text = second, format_timestamp(second)
        return cls.text


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class BaseHandler(RequestHandler):
    access: dict = {}

    def initialize(self):
        self.request_id = os.urandom(8).hex()
        self.set_header("X-Request-Id", self.request_id)

    def clear(self):
        """Tornado's reset of the answer, with the Date header from a once-a-second text."""
        self._headers = HTTPHeaders({"Server": SERVER, "Content-Type": "text/html; charset=UTF-8",
                                     "Date": _HttpDate.now()})
        self.set_default_headers()
        self._write_buffer = []
        self._status_code = 200
        self._reason = "OK"

    @property
    def services(self):
        return self.settings["services"]

    def level(self) -> str:
        return self.access.get(self.request.method)

    def write_json(self, payload, status: int = 200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(ujson.dumps(payload, ensure_ascii=False, escape_forward_slashes=False))

    def log_exception(self, typ, value, tb):
        if isinstance(value, (ApiError, RelayError, ServiceError)):
            return
        if isinstance(value, HTTPError):
            return super().log_exception(typ, value, tb)
        log.error("request %s %s %s failed", self.request_id, self.request.method, self.request.path,
                  exc_info=(typ, value, tb))


class RelayHandler(BaseHandler):
    """/v1 routes: the caller is the owner of an `sk-` key; errors in OpenAI's shape."""

    caller = None

    async def prepare(self):
        level = self.level()
        if level is None:
            raise RelayError(405, "This method is not allowed here.", "method_not_allowed")
        if level == "key":
            self.caller = await self.services.keys.resolve(
                self.request.headers.get("Authorization", ""), self.request.remote_ip)

    def write_error(self, status_code, **kwargs):
        error = _exception(kwargs)
        if not isinstance(error, RelayError):
            message = self._reason if status_code < 500 else "The gateway failed to handle this request."
            error = RelayError(status_code, f"{message} (request id: {self.request_id})",
                               "internal_error" if status_code >= 500 else "bad_request")
        self.write_json(error.body(), error.status)

    def send_error(self, status_code=500, **kwargs):
        error = _exception(kwargs)
        if isinstance(error, RelayError):
            status_code = error.status
        super().send_error(status_code, **kwargs)


API_WINDOW, CRITICAL_WINDOW = 180, 1200     # seconds


class RelayCallBase(RelayHandler):
    """A /v1 call relayed to an upstream: body size checked, this connection as the answer's sink, and the
    call counted as in flight until its bill is settled (a stopping server waits for it)."""

    access = {"POST": "key"}
    sink = None
    sink_class = None      # HandlerSink unless a handler needs more of it

    def check_size(self):
        limit = self.services.settings.max_request_body_mb * 1024 * 1024
        if len(self.request.body) > limit:
            raise RelayError(413, f"The request body is larger than {limit // (1024 * 1024)} MiB.",
                             "request_too_large", "invalid_request_error")

    async def run(self, work):
        """Run `work(sink)` (one relay call) with this connection as its sink."""
        self.sink = (self.sink_class or HandlerSink)(self)
        self.services.inflight.enter(self.sink)
        try:
            await work(self.sink)
        finally:
            self.services.inflight.leave(self.sink)
            # The handler and its sink hold each other: let go, so both are freed when the request is
            # done instead of waiting for the garbage collector (which would walk every finished request).
            self.sink = None

    def on_connection_close(self):
        if self.sink is not None:
            self.sink.closed()


class ApiHandler(BaseHandler):
    """/api routes: the caller is a logged-in user (session cookie or access token)."""

    current = None
    critical = False     # login and registration: a stricter limit per IP

    async def prepare(self):
        level = self.level()
        if level is None:
            raise ApiError(405, "method not allowed")
        await self._check_rate()
        if level == "public":
            self.current = await self._find_user()
            return
        user = await self._find_user()
        if user is None:
            raise ApiError(401, "not logged in: log in or send an access token")
        if user.status != STATUS_ENABLED:
            raise ApiError(403, "this account is disabled")
        if user.role < LEVELS[level]:
            raise ApiError(403, "you are not allowed to do this")
        self.current = user

    async def _check_rate(self):
        limits, settings, ip = self.services.limits, self.services.settings, self.request.remote_ip
        if not await limits.allow("api", ip, settings.global_api_rate_limit, API_WINDOW):
            raise ApiError(429, "too many requests from this address; try again in a few minutes")
        if self.critical and not await limits.allow("critical", ip, settings.critical_rate_limit, CRITICAL_WINDOW):
            raise ApiError(429, "too many login or registration attempts; try again later")

    async def _find_user(self):
        accounts = self.services.accounts
        cookie = self.get_cookie(SESSION_COOKIE)
        if cookie:
            user = await accounts.session_user(cookie)
            if user is not None:
                return user
        header = self.request.headers.get("Authorization")
        if header:
            return await accounts.by_access_token(header)
        return None

    def ok(self, data=None, message: str = "", **extra):
        self.write_json({"success": True, "message": message, "data": data, **extra})

    def body(self) -> dict:
        try:
            data = ujson.loads(self.request.body or b"{}")
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the request body must be a JSON object")
        if _has_unstorable_number(data):
            raise ApiError(400, "the request body holds a number that is not finite (NaN, Infinity) or too "
                                "large to store")
        return data

    def int_arg(self, name: str, default: int) -> int:
        value = self.get_query_argument(name, None)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except ValueError:
            raise ApiError(400, f"{name} must be a whole number") from None
        if not INT64_MIN <= number <= INT64_MAX:
            raise ApiError(400, f"{name} is too large")
        return number

    def paging(self):
        page = min(max(self.int_arg("p", 1), 1), MAX_PAGE)
        size = self.int_arg("page_size", self.int_arg("size", 20))
        return page, max(1, min(size, 100))

    def write_error(self, status_code, **kwargs):
        error = _exception(kwargs)
        if isinstance(error, ApiError):
            status_code, message = error.status, error.message
        elif status_code >= 500:
            message = f"internal error (request id: {self.request_id})"
        else:
            message = self._reason
        self.write_json({"success": False, "message": message}, status_code)

    def send_error(self, status_code=500, **kwargs):
        error = _exception(kwargs)
        if isinstance(error, ServiceError):
            error = ApiError(error.status, str(error))
            kwargs["exc_info"] = (ApiError, error, kwargs["exc_info"][2])
        if isinstance(error, ApiError):
            status_code = error.status
        super().send_error(status_code, **kwargs)


def _exception(kwargs):
    info = kwargs.get("exc_info")
    return info[1] if info else None


class HandlerSink:
    """Where the relay writes its answer: this request's connection."""

    __slots__ = ("handler", "started", "gone", "_on_close")

    def __init__(self, handler: RequestHandler):
        self.handler = handler
        self.started = False
        self.gone = False
        self._on_close = []

    def send(self, status: int, body: bytes, content_type: str):
        if self.gone:
            return
        self.handler.set_status(status)
        self.handler.set_header("Content-Type", content_type)
        self.handler.finish(body)

    def begin_stream(self):
        self.started = True
        handler = self.handler
        handler.set_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.set_header("Cache-Control", "no-cache")
        handler.set_header("X-Accel-Buffering", "no")

    async def write(self, data: bytes):
        """Send `data` now. Waits only while the client is not taking what was sent: most writes go
        straight into the socket, and waiting for each to be confirmed costs more than the write."""
        if self.gone:
            raise ClientGone()
        self.handler.write(data)
        flushed = self.handler.flush()
        if not self.handler.request.connection.stream.writing():
            return
        try:
            await flushed
        except StreamClosedError:
            self.closed()
            raise ClientGone() from None

    def end(self):
        if not self.gone and not self.handler._finished:
            self.handler.finish()

    def on_close(self, callback):
        self._on_close.append(callback)

    def closed(self):
        if self.gone:
            return
        self.gone = True
        for callback in self._on_close:
            callback()


def _has_unstorable_number(value) -> bool:
    """NaN, Infinity and numbers like 1e999 parse (as floats), and so do integers past 64 bits, but no
    field of the API means them and MongoDB stores none of them.
    Walked with a list, not recursion, so a deeply nested body cannot exhaust the stack."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
            return True
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False
